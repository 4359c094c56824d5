"""The DicomWebOAuth feature: validated settings -> TokenManager -> Orthanc registrations.

Life cycle: `from_config()` at plugin load (validates everything, never raises), `start()` once
Orthanc has started (feature detection needs its REST API), `stop()` when Orthanc stops.
A configuration error disables this feature only; Orthanc keeps serving.
"""

import os
import time

from .config.oauth import SECTION, load_oauth_settings
from .cooldown import Cooldown
from .dicomweb import PersistenceRefused, Registrar, dicomweb_root, refuse_if_persisted
from .feature_state import feature_state, load_settings
from .log import get_logger, redact
from .metrics import REGISTRY
from .tokens.http import TokenHttpClient
from .tokens.manager import TokenManager
from .tokens.metrics import OAuthMetrics
from .tokens.providers import build_provider

LOG = get_logger("oauth")
TEST_COOLDOWN_SECONDS = 5.0  # between two tests of one server: each asks the identity provider for a token


def _describe(settings):
    servers = ", ".join("%s (%s)" % (server.name, server.provider) for server in settings.servers)
    return "%d server(s): %s" % (len(settings.servers), servers)


class OAuthFeature:
    def __init__(self, api, orthanc_config, settings=None, error=None, environ=None,
                 registry=REGISTRY, clock=time.time):
        self.api = api
        self.orthanc_config = orthanc_config
        self.settings = settings
        self.error = error
        self.environ = os.environ if environ is None else environ
        self.registry = registry
        self.clock = clock
        self.manager = None
        self.registrar = None
        self.orthanc_version = None
        self.test_cooldown = Cooldown(TEST_COOLDOWN_SECONDS)
        self.last_tests = {}

    @classmethod
    def from_config(cls, api, orthanc_config, environ=None, **kwargs):
        settings, error = load_settings(SECTION, load_oauth_settings, _describe, LOG, orthanc_config, environ)
        return cls(api, orthanc_config, settings=settings, error=error, environ=environ, **kwargs)

    @property
    def state(self):
        return feature_state(self.error, self.settings, bool(self.manager))

    def start(self):
        if self.state != "starting":
            return
        try:
            refuse_if_persisted(self.orthanc_config)
            self._detect_dicomweb()
        except (PersistenceRefused, RuntimeError) as exc:
            self.error = str(exc)
            LOG.error("%s: feature disabled: %s", SECTION, exc)
            return
        self.registrar = Registrar(self.api, dicomweb_root(self.orthanc_config))
        http = TokenHttpClient(self.settings.http_timeout)
        providers = {s.name: build_provider(s, http, self.environ) for s in self.settings.servers}
        self.manager = TokenManager(self.settings, providers, self.registrar,
                                    OAuthMetrics(self.registry), clock=self.clock)
        self.manager.start()

    def _detect_dicomweb(self):
        """Feature detection rather than version assumptions: the DICOMweb plugin must be loaded
        (its servers API is what we drive)."""
        plugins = self.api.get_json("/plugins")
        if "dicom-web" not in (plugins or []):
            raise RuntimeError("the DICOMweb plugin is not loaded in this Orthanc; "
                               "add libOrthancDicomWeb to Plugins")
        system = self.api.get_json("/system") or {}
        self.orthanc_version = system.get("Version")

    def stop(self):
        if self.manager is not None:
            self.manager.stop()
            self.manager = None

    def bearer(self, name):
        """(url, headers) for a call the router makes itself to server `name`; headers None while no token is
        valid; None when this feature does not manage the server."""
        server = next((s for s in (self.settings.servers if self.settings else ()) if s.name == name), None)
        if server is None or self.manager is None or not self.manager.has(name):
            return None
        token = self.manager.current_token(name)
        return server.url, ({"Authorization": "Bearer " + token} if token else None)

    # ---- REST side ----
    def status(self):
        body = {"feature": SECTION, "state": self.state, "error": self.error,
                "orthanc_version": self.orthanc_version, "servers": {}}
        if self.manager is not None:
            body["servers"] = {name: self.manager.status(name) for name in self.manager.names()}
        return body

    def test_limited(self, name):
        """test() at most once per server every TEST_COOLDOWN_SECONDS: (status, answer, Retry-After or None).
        A call too soon gets 503 + Retry-After (Orthanc 1.10.1 cannot send 429) and the last result, and costs the
        identity provider nothing."""
        if self.manager is None or not self.manager.has(name):
            return self.test(name) + (None,)
        wait = self.test_cooldown.acquire(name)
        if wait:
            return 503, {"ok": False, "error": "server %r was tested less than %.0f s ago; retry after %d s"
                         % (name, TEST_COOLDOWN_SECONDS, wait), "last": self.last_tests.get(name)}, wait
        try:
            status, answer = self.test(name)
            self.last_tests[name] = answer
            return status, answer, None
        finally:
            self.test_cooldown.release(name)

    def test(self, name):
        """Acquire a fresh token, register it, then QIDO-ping the server through Orthanc."""
        if self.manager is None:
            return 503, {"ok": False, "error": "%s is %s" % (SECTION, self.state),
                         "detail": self.error}
        if not self.manager.has(name):
            return 404, {"ok": False, "error": "no OAuth server named %r" % name,
                         "servers": self.manager.names()}
        result = {"server": name}
        started = time.monotonic()
        token_ok = self.manager.refresh_now(name)
        status = self.manager.status(name)
        result["token"] = {"ok": token_ok, "error": status["last_error"],
                           "expires_at": status["expires_at"],
                           "seconds": round(time.monotonic() - started, 3)}
        if not token_ok:
            result["ok"] = False
            return 502, result
        started = time.monotonic()
        try:
            studies = self.registrar.qido_ping(name)
            result["qido"] = {"ok": True, "studies": studies,
                              "seconds": round(time.monotonic() - started, 3)}
        except Exception as exc:  # Orthanc raises on any HTTP error of the remote server
            result["qido"] = {"ok": False, "error": redact(exc),
                              "seconds": round(time.monotonic() - started, 3)}
            if _is_unauthorized(exc):
                # The token was issued, so the identity authenticates: the DICOM service refuses it (401/403).
                result["qido"]["hint"] = ("the server refused a valid token: check that this identity has a data "
                                          "role on the DICOM service (for example DICOM Data Owner) and that "
                                          "Scope names that service")
        result["ok"] = result["qido"]["ok"]
        return (200 if result["ok"] else 502), result


def _is_unauthorized(exc):
    """Orthanc's error 29 (Unauthorized: the remote answered 401 or 403), as orthanc-python reports it."""
    first = exc.args[0] if getattr(exc, "args", None) else None
    return first == 29 or "Bad credentials" in str(exc) or "Unauthorized" in str(exc)
