"""Probe routes for containers: GET /medimaging/health/live and /medimaging/health/ready.

Probes may call them without credentials (AuthenticationEnabled off behind a gateway), so they answer one status
word and nothing else: no version, no error text, no names. Live: Orthanc's HTTP server and the Python plugin
answer. Ready: Orthanc has finished starting and its index database answers a query.
Like every Python route they wait while another plugin thread is inside a call into Orthanc that waits on the
network (orthanc-python holds its lock there): the image's exec probe asks Orthanc's own routes instead
(images/orthanc/probe.py).
"""

import threading

from . import log
from .http_answers import json_answer, method_not_allowed

LIVE = "/medimaging/health/live"
READY = "/medimaging/health/ready"
PATHS = frozenset([LIVE, READY])

LOG = log.get_logger("health")


class Health:
    """probe_index(): any cheap query that goes through Orthanc's index database; raises when it does not answer."""

    def __init__(self, probe_index):
        self._probe_index = probe_index
        self._started = threading.Event()

    def started(self):
        self._started.set()

    def stopped(self):
        self._started.clear()

    def live(self, method, groups, body):
        return _answer(method, 200, "alive")

    def ready(self, method, groups, body):
        if not self._started.is_set():
            return _answer(method, 503, "starting")
        try:
            self._probe_index()
        except Exception as exc:  # the reason goes to the log, never to the unauthenticated caller
            LOG.warning("readiness: the index database did not answer: %s", log.redact(exc))
            return _answer(method, 503, "index database not answering")
        return _answer(method, 200, "ready")

    def routes(self):
        return [(LIVE, self.live), (READY, self.ready)]


def _answer(method, status, word):
    if method != "GET":
        return method_not_allowed("GET")
    return json_answer(status, {"status": word})
