"""How a send can fail, as the worker needs to know it."""


class DestinationDown(Exception):
    """The destination cannot be reached or refuses everything (network, 5xx, 401/403 while the
    token is renewed): retry later with the destination's backoff; never dead-letter."""


class Rejected(Exception):
    """The destination refused some instances while it was otherwise healthy.

    permanent=True for an answer retrying cannot fix (HTTP 400 Bad Request): dead-letter now.
    Otherwise (409/422/other 4xx-or-5xx the DICOMweb client reports alike) retry, and dead-letter
    after MaxRejections such attempts.
    """

    def __init__(self, reason, permanent, instances_sent=0, bytes_sent=0, refused=()):
        super().__init__(reason)
        self.refused = list(refused)  # instances refused for good meanwhile: (uid, code, reason)
        self.reason = reason
        self.permanent = permanent
        self.instances_sent = instances_sent
        self.bytes_sent = bytes_sent


class LeaseLost(Exception):
    """Another worker retook the item (our lease expired): stop, it will finish the job."""


class StudyGone(Exception):
    """The study was deleted locally before it could be sent."""


# orthanc.ErrorCode.UNKNOWN_RESOURCE: what Orthanc's internal REST API raises (OrthancException(17, "Unknown
# resource")) where its HTTP API answers 404.
UNKNOWN_RESOURCE = 17


def is_unknown_resource(exc):
    """True when Orthanc said 404 (the resource does not exist), and only then: a database or network failure
    inside Orthanc must not pass for a deleted study."""
    code = exc.args[0] if getattr(exc, "args", None) else None
    if isinstance(code, str):  # a message only (the unit tests' fake Orthanc)
        return code.strip() == "Unknown resource"
    try:
        return int(code) == UNKNOWN_RESOURCE
    except (TypeError, ValueError):
        return False
