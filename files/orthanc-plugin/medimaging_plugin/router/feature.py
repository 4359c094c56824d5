"""The MedimagingRouter feature: settings -> queue (PostgreSQL) -> intake thread and worker threads.

Life cycle as every feature: from_config() at load (validates, never raises), start() once Orthanc has
started, stop() when it stops. Orthanc's change thread only hands typed events to the intake thread
(router/intake.py), which records them, routes stable studies and owns the recovery sweep; the workers send.
Its REST endpoints are in router/rest.py.
"""

import time

from ..database import Database
from ..dicomweb import dicomweb_root
from ..feature_state import feature_state, load_settings
from ..http_client import HttpClient
from ..log import get_logger, redact
from ..metrics import REGISTRY
from .config import SECTION, load_router_settings
from .direct_stow import DirectStow, configured_server
from .events import NewStudy, Retrieved, StableStudy
from .intake import Intake
from .queue import RouterQueue
from .sender import DicomWebSender, PeerSender
from .worker import DestinationHolds, Worker

LOG = get_logger("router")


def _describe(settings):
    return "%d destination(s): %s" % (len(settings.destinations), ", ".join(
        "%s (%s %s)" % (d.name, d.kind, d.server) for d in settings.destinations))


class RouterFeature:
    def __init__(self, api, orthanc_config, settings=None, error=None, registry=REGISTRY, db=None, oauth=None):
        self.api = api
        self.oauth = oauth  # the DicomWebOAuth feature: URL and current token of the servers it manages
        self.orthanc_config = orthanc_config
        self.settings = settings
        self.error = error
        self.registry = registry
        self.db = db
        self.queue = None
        self.intake = None
        self.workers = []
        self.metrics = None
        self.holds = None
        self._stats_cache = (0.0, {})

    @classmethod
    def from_config(cls, api, orthanc_config, environ, **kwargs):
        settings, error = load_settings(SECTION, load_router_settings, _describe, LOG, orthanc_config, environ)
        return cls(api, orthanc_config, settings=settings, error=error, **kwargs)

    @property
    def state(self):
        return feature_state(self.error, self.settings, bool(self.workers))

    # ---- life cycle ----
    def start(self):
        if self.state != "starting":
            return
        settings = self.settings
        try:
            self.db = self.db or Database(settings.db_params)
            self.queue = RouterQueue(self.db)
            self.queue.ensure_schema()
        except Exception as exc:
            # Without its queue the router cannot promise anything: off, loudly, Orthanc keeps serving.
            self.error = "cannot prepare the queue in PostgreSQL (schema medimaging_router): %s" % redact(exc)
            LOG.error("%s: feature disabled: %s", SECTION, self.error)
            return
        from .metrics import RouterMetrics
        self.metrics = RouterMetrics(self.registry)
        self.metrics.watch(self.cached_stats)
        self.holds = DestinationHolds(settings.retry_min, settings.retry_max)
        self._init_change_cursor()
        self.intake = Intake(self.api, self.queue, settings, self.metrics, self._wake_workers)
        self.intake.start()
        senders = self._senders()
        self.workers = [Worker(i, self.queue, senders, settings, self.holds, self.metrics, self.api,
                               recover=self.intake.request_sweep if i == 0 else None) for i in range(settings.workers)]
        for worker in self.workers:
            worker.start()

    def _senders(self):
        root = dicomweb_root(self.orthanc_config)
        senders = {}
        http = HttpClient(120.0)
        for d in self.settings.destinations:
            if d.kind == "dicomweb":
                direct = DirectStow(http, d.server, self._target(d.server),
                                    ca_bundle=self.orthanc_config.get("HttpsCACertificates") or None)
                senders[d.name] = DicomWebSender(self.api, root, d.server, d.batch_size, direct=direct,
                                                 transcode_syntaxes=d.transcode)
            else:
                senders[d.name] = PeerSender(self.api, d.server, d.batch_size)
        return senders

    def _init_change_cursor(self):
        try:
            if self.queue.change_cursor() == 0:  # first start: route what arrives from now on
                self.queue.set_change_cursor(int(self.api.get_json("/changes?last").get("Last", 0)))
        except Exception as exc:
            LOG.warning("router: could not initialise the change cursor: %s", redact(exc))

    def _target(self, server):
        """() -> (url, headers) of a DICOMweb server for DirectStow: the OAuth feature's (headers None while
        it has no valid token), else DicomWeb.Servers in Orthanc's configuration while Orthanc still uses that Url;
        None otherwise (then failed batches are resolved through Orthanc's client only)."""
        root = dicomweb_root(self.orthanc_config)

        def resolve():
            found = self.oauth.bearer(server) if self.oauth is not None else None
            return found if found is not None else configured_server(self.orthanc_config, self.api, root, server)
        return resolve

    def _wake_workers(self):
        for worker in self.workers:
            worker.wakeup.set()

    def stop(self):
        for worker in self.workers:
            worker.stop()
        if self.intake is not None:
            self.intake.stop()
        for worker in self.workers:
            worker.join(timeout=30)
        if self.metrics is not None:
            self.metrics.close()
        self.workers = []
        if self.db is not None:
            self.db.close()

    # ---- change events (Orthanc's change thread: only hand over) ----
    def on_new_study(self, study_id):
        if self.workers:
            self.intake.put(NewStudy(study_id))

    def on_stable_study(self, study_id):
        if self.workers:
            self.intake.put(StableStudy(study_id))

    def on_retrieved(self, server, study_uid):
        """Called by the priors feature after a study was retrieved from DICOMweb server `server`."""
        if self.workers:
            self.intake.put(Retrieved(server, study_uid))

    def cached_stats(self, max_age=2.0):
        """The queue's counts per destination, read at most every max_age seconds (metrics scrapes, status)."""
        stamp, stats = self._stats_cache
        if self.queue is None or time.monotonic() - stamp < max_age:
            return stats
        try:
            stats = self.queue.stats()
            self._stats_cache = (time.monotonic(), stats)
        except Exception as exc:
            LOG.warning("router: queue statistics unavailable: %s", redact(exc))
        return stats
