"""TokenManager: keeps one valid token per server and hands each new one to a registrar.

One background thread per server: acquire -> register (re-PUT the DICOMweb server entry with the
new Authorization header) -> sleep until margin-before-expiry -> repeat. On failure the last valid
token stays registered until it truly expires; retries back off. The timing decisions are in
schedule.py and `attempt()` is a plain method, so unit tests drive it with a fake clock.

Later features reuse it: `current_token(name)` for their own HTTP calls, `status()` for REST.
"""

import random
import threading
import time
from datetime import datetime, timezone

from ..log import get_logger, redact
from .model import TokenError
from .schedule import refresh_delay, retry_delay

LOG = get_logger("oauth")


def _iso(epoch):
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat(timespec="seconds")


class _ServerState:
    def __init__(self, settings, provider):
        self.settings = settings
        self.provider = provider
        self.lock = threading.RLock()
        self.wake = threading.Event()
        self.token = None
        self.consecutive_failures = 0
        self.acquisitions = 0
        self.last_refresh = None
        self.last_attempt = None
        self.last_error = None
        self.last_error_permanent = False
        self.next_attempt_at = 0.0
        self.expired_logged = False
        self.thread = None


class TokenManager:
    def __init__(self, settings, providers, registrar, metrics, clock=time.time,
                 timer=time.monotonic, rng=None):
        """`providers`: {name: provider}; `registrar(server_settings, token)` makes Orthanc use
        the token (raises on failure); `metrics`: OAuthMetrics."""
        self.settings = settings
        self.registrar = registrar
        self.metrics = metrics
        self.clock = clock
        self.timer = timer
        self.rng = rng or random.Random()
        self._stop = threading.Event()
        self._states = {s.name: _ServerState(s, providers[s.name]) for s in settings.servers}
        metrics.watch(self._gauge_snapshot)

    # ---- one attempt (pure with respect to time: the clock is injected) ----
    def attempt(self, name):
        """Acquire and register a token for `name` now. Returns True on success."""
        state = self._states[name]
        with state.lock:
            now = self.clock()
            state.last_attempt = now
            started = self.timer()
            try:
                token = state.provider.acquire(now)
            except TokenError as exc:
                self.metrics.duration.labels(name).observe(self.timer() - started)
                self._failed(state, exc, "acquisition")
                return False
            except Exception as exc:  # a provider bug must not kill the refresher thread
                self.metrics.duration.labels(name).observe(self.timer() - started)
                self._failed(state, TokenError("unexpected %s" % type(exc).__name__), "acquisition")
                return False
            self.metrics.duration.labels(name).observe(self.timer() - started)
            try:
                self.registrar(state.settings, token)
            except Exception as exc:
                self.metrics.acquisitions.labels(name, "success").inc()
                state.acquisitions += 1
                self._failed(state, TokenError("registering the server in Orthanc failed: %s"
                                               % redact(exc, (token.value,))), "registration",
                             counted=True)
                return False
            self.metrics.acquisitions.labels(name, "success").inc()
            state.acquisitions += 1
            recovered = state.consecutive_failures > 0
            state.token = token
            state.consecutive_failures = 0
            state.last_refresh = now
            state.last_error = None
            state.last_error_permanent = False
            state.expired_logged = False
            delay = refresh_delay(token, now, self.settings.refresh_margin, self.settings.refresh_jitter,
                                  self.rng)
            state.next_attempt_at = now + delay
            LOG.info("DicomWebOAuth: server %s: token %s via %s, valid %.0fs, next refresh in %.0fs",
                     name, "re-acquired after failures" if recovered else "acquired",
                     state.provider.kind, token.lifetime, delay)
            return True

    def _failed(self, state, error, stage, counted=False):
        name = state.settings.name
        now = self.clock()
        if not counted:
            result = "permanent_error" if error.permanent else "transient_error"
            self.metrics.acquisitions.labels(name, result).inc()
        self.metrics.refresh_failures.labels(name).inc()
        state.consecutive_failures += 1
        message = str(error)
        changed = message != state.last_error
        state.last_error = message
        state.last_error_permanent = error.permanent
        delay = retry_delay(error, state.consecutive_failures, state.token, now, self.settings, self.rng)
        state.next_attempt_at = now + delay
        keeping = state.token is not None and state.token.is_valid(now)
        tail = ("keeping the current token (expires in %.0fs)" % (state.token.expires_at - now)
                if keeping else "no valid token: DICOMweb calls to this server will be refused")
        if error.permanent:
            if changed:
                LOG.error("DicomWebOAuth: server %s: token %s failed permanently: %s; %s; "
                          "next attempt in %.0fs (fix the configuration, or POST "
                          "/medimaging/oauth/servers/%s/test to retry now)",
                          name, stage, message, tail, delay, name)
        else:
            LOG.warning("DicomWebOAuth: server %s: token %s failed (%d in a row): %s; %s; retry in %.1fs",
                        name, stage, state.consecutive_failures, message, tail, delay)

    # ---- threads ----
    def start(self):
        for name, state in self._states.items():
            thread = threading.Thread(target=self._run, args=(name,), daemon=True,
                                      name="medimaging-oauth-%s" % name)
            state.thread = thread
            thread.start()

    def stop(self, timeout=5.0):
        self._stop.set()
        for state in self._states.values():
            state.wake.set()
        for state in self._states.values():
            if state.thread is not None:
                state.thread.join(timeout)
        self.metrics.close()

    def _run(self, name):
        state = self._states[name]
        while not self._stop.is_set():
            if self.clock() >= state.next_attempt_at:
                self.attempt(name)
            self._log_expiry(state)
            delay = state.next_attempt_at - self.clock()
            if state.token is not None and not state.expired_logged:
                delay = min(delay, state.token.expires_at - self.clock() + 0.05)
            if state.wake.wait(max(0.0, delay)):
                state.wake.clear()

    def _log_expiry(self, state):
        now = self.clock()
        if state.token is not None and not state.token.is_valid(now) and not state.expired_logged:
            state.expired_logged = True
            LOG.error("DicomWebOAuth: server %s: token expired at %s and could not be renewed (%s)",
                      state.settings.name, _iso(state.token.expires_at), state.last_error)

    def refresh_now(self, name):
        """Force an acquisition (REST test endpoint). Returns True on success."""
        ok = self.attempt(name)
        self._states[name].wake.set()  # let the thread pick up the new schedule
        return ok

    # ---- read side ----
    def names(self):
        return sorted(self._states)

    def has(self, name):
        return name in self._states

    def current_token(self, name):
        """The current token value if still valid, else None (for features making their own calls)."""
        state = self._states[name]
        token = state.token
        return token.value if token is not None and token.is_valid(self.clock()) else None

    def status(self, name):
        state = self._states[name]
        now = self.clock()
        token = state.token
        if token is None:
            condition = "error" if state.last_error else "pending"
        elif not token.is_valid(now):
            condition = "expired"
        elif state.last_error:
            condition = "degraded"
        else:
            condition = "ok"
        view = state.settings.public_view()
        view.update({
            "name": name,
            "state": condition,
            "token_valid": bool(token is not None and token.is_valid(now)),
            "expires_at": _iso(token.expires_at) if token else None,
            "seconds_until_expiry": round(token.expires_at - now, 1) if token else None,
            "last_refresh": _iso(state.last_refresh),
            "last_attempt": _iso(state.last_attempt),
            "next_attempt": _iso(state.next_attempt_at) if state.next_attempt_at else None,
            "last_error": state.last_error,
            "last_error_permanent": state.last_error_permanent if state.last_error else None,
            "consecutive_failures": state.consecutive_failures,
            "acquisitions": state.acquisitions,
        })
        return view

    def _gauge_snapshot(self):
        now = self.clock()
        rows = []
        for name, state in sorted(self._states.items()):
            token = state.token
            rows.append((name, (token.expires_at - now) if token else None,
                         state.consecutive_failures, bool(token and token.is_valid(now))))
        return rows
