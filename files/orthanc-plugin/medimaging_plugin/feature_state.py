"""The life-cycle state every feature reports in its status and checks before starting."""


def feature_state(error, settings, running):
    """error | not-configured | disabled | running | starting, in that order of precedence."""
    if error:
        return "error"
    if settings is None:
        return "not-configured"
    if not settings.enabled:
        return "disabled"
    return "running" if running else "starting"
