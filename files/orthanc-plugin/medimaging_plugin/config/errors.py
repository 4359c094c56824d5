"""The one error type of configuration validation: it names the offending key."""


class ConfigError(ValueError):
    def __init__(self, key, problem, hint=None):
        self.key = key
        self.problem = problem
        self.hint = hint
        text = "%s: %s" % (key, problem)
        if hint:
            text += " (%s)" % hint
        super().__init__(text)
