"""HTTP for token endpoints (TLS verification always on, CA bundle optional, the environment's proxy honoured).

Maps every failure to TokenError with a message safe to log: status, OAuth error code and
description, never the request body (it holds the secret) nor a token.
"""

from ..http_client import HttpClient as _Transport
from ..http_client import HttpError
from ..log import redact
from .model import TokenError

# OAuth2 / Entra / IMDS answers that retrying will not fix.
_PERMANENT_CODES = {"invalid_client", "unauthorized_client", "invalid_grant", "invalid_scope",
                    "invalid_request", "unsupported_grant_type", "invalid_resource"}
_TRANSIENT_STATUS = {408, 410, 425, 429, 500, 502, 503, 504}


class TokenHttpClient:
    def __init__(self, timeout, transport=None):
        # https_proxy/no_proxy from Orthanc's environment: Entra ID is often reached through a proxy.
        self.transport = transport or _Transport(timeout, use_env_proxy=True)

    def request_json(self, method, url, *, verify=None, headers=None, params=None, data=None,
                     known_secrets=()):
        try:
            response = self.transport.request(method, url, headers=headers, params=params, data=data,
                                              ca_bundle=verify or None)
        except HttpError as exc:
            if exc.tls:
                raise TokenError("TLS error talking to %s: %s (set CaBundle if it uses a private CA)"
                                 % (url, redact(exc, known_secrets)), permanent=False) from None
            raise TokenError("cannot reach %s: %s" % (url, redact(exc, known_secrets)), permanent=False) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 400 or not isinstance(body, dict):
            raise self._error(url, response, body, known_secrets)
        return body

    @staticmethod
    def _error(url, response, body, known_secrets):
        status = response.status_code
        code = description = None
        if isinstance(body, dict):
            code = body.get("error")
            if isinstance(code, dict):  # IMDS / App Service shape {"error": {"code", "message"}}
                code, description = code.get("code"), code.get("message")
            else:
                description = body.get("error_description") or body.get("message")
        if isinstance(code, str):
            code = code[:64]
        else:
            code = None
        permanent = status not in _TRANSIENT_STATUS and (
            status in (400, 401, 403, 404) or (code or "").lower() in _PERMANENT_CODES)
        if status < 400:
            message = "%s answered %d without a JSON object" % (url, status)
            permanent = False
        else:
            message = "%s answered HTTP %d" % (url, status)
            if code:
                message += " %s" % code
            if description:
                message += ": %s" % redact(str(description).splitlines()[0][:300], known_secrets)
        return TokenError(message, permanent=permanent, status=status, code=code)
