"""The life-cycle state every feature reports in its status and checks before starting, and the validation
every feature runs at load (from_config): a configuration error turns that feature off, Orthanc keeps serving."""

from .config.errors import ConfigError
from .log import redact


def feature_state(error, settings, running):
    """error | not-configured | disabled | running | starting, in that order of precedence."""
    if error:
        return "error"
    if settings is None:
        return "not-configured"
    if not settings.enabled:
        return "disabled"
    return "running" if running else "starting"


def load_settings(section, load, describe, log, orthanc_config, environ):
    """(settings, None), or (None, the redacted error) when the section is refused; both logged.

    `load(orthanc_config, environ)` validates the section; `describe(settings)` says what an enabled one will do."""
    try:
        settings = load(orthanc_config, environ)
    except ConfigError as exc:
        log.error("%s: invalid configuration, feature disabled (Orthanc keeps serving): %s", section, redact(exc))
        return None, str(redact(exc))
    if settings is not None and settings.enabled:
        log.info("%s: configuration valid, %s", section, describe(settings))
    return settings, None
