"""Plugin logging: one logger whose sink is Orthanc's log once the adapter plugs it in.

Messages never carry tokens or secrets; `redact()` is a last line of defence for text that comes
from outside (an HTTP error body, an exception message).
"""

import logging
import re

LOGGER_NAME = "medimaging"

# Bearer tokens, JWT-looking strings and "secret=..."/"token=..." pairs.
_SECRET_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # form fields (client_secret=...) and JSON members ("access_token": "..."), not prose ("token: x")
    re.compile(r"(?i)((?<![\w/.-])(?:client_secret|client_assertion|access_token|refresh_token|id_token|password)"
               r"(?:=|[\"']\s*:\s*[\"']))[^\s&\"',}]+"),
]


def redact(text, known_secrets=()):
    """Return `text` with known secret values and token-looking substrings replaced by '***'."""
    text = str(text)
    for secret in known_secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    for pattern in _SECRET_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + "***", text)
        else:
            text = pattern.sub("***", text)
    return text


def get_logger(child=None):
    name = LOGGER_NAME if not child else "%s.%s" % (LOGGER_NAME, child)
    return logging.getLogger(name)


class _OrthancSink(logging.Handler):
    """Forwards records to Orthanc's LogInfo/LogWarning/LogError functions."""

    def __init__(self, info, warning, error):
        super().__init__(logging.INFO)
        self._info, self._warning, self._error = info, warning, error

    def emit(self, record):
        try:
            text = "[%s] %s" % (record.name, redact(record.getMessage()))
            if record.levelno >= logging.ERROR:
                self._error(text)
            elif record.levelno >= logging.WARNING:
                self._warning(text)
            else:
                self._info(text)
        except Exception:  # a log line must never break the caller
            pass


def attach_orthanc_sink(info, warning, error):
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        if isinstance(handler, _OrthancSink):
            logger.removeHandler(handler)
    logger.addHandler(_OrthancSink(info, warning, error))
    logger.setLevel(logging.INFO)
    logger.propagate = False
