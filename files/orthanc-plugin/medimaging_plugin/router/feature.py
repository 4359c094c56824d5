"""The MedimagingRouter feature: settings -> queue (PostgreSQL) -> worker threads.

Life cycle as the OAuth feature: from_config() at load (validates, never raises), start() once
Orthanc has started, stop() when it stops. Change events:
  NEW_STUDY     -> the study is noted in `arrivals` at once (a crash before it is stable loses nothing)
  STABLE_STUDY  -> filters per destination, then one queue row per accepted destination
Both are handed to one small intake thread so Orthanc's change thread never waits on the database.
A start-up sweep (and each idle poll) reads Orthanc's /changes log after a stored cursor, so a
NewStudy event lost in a crash is still noted, and promotes arrivals that never became stable
(their Orthanc crashed) once untouched for OrphanAfterSeconds.
"""

import json
import queue as queue_module
import threading
import time

from ..config import ConfigError
from ..dicomweb import dicomweb_root
from ..feature_state import feature_state
from ..log import get_logger, redact
from ..metrics import REGISTRY
from ..request_body import read_object
from . import filters
from ..http_client import HttpClient
from .config import SECTION, load_router_settings
from .direct_stow import DirectStow, configured_server
from ..database import Database
from .queue import RouterQueue
from .sender import DicomWebSender, PeerSender
from .worker import DestinationHolds, Worker

LOG = get_logger("router")


def _parse_orthanc_time(text):
    """Orthanc's LastUpdate ('20261122T205910', local time) -> epoch seconds; None if unparseable."""
    try:
        return time.mktime(time.strptime(text[:15], "%Y%m%dT%H%M%S"))
    except (TypeError, ValueError):
        return None


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
        self.workers = []
        self.metrics = None
        self.holds = None
        self._intake = queue_module.Queue()
        self._intake_thread = None
        self._deferred = set()
        self._lock = threading.Lock()
        self._last_sweep = 0.0
        self._stats_cache = (0.0, {})

    @classmethod
    def from_config(cls, api, orthanc_config, environ, **kwargs):
        try:
            settings = load_router_settings(orthanc_config, environ)
        except ConfigError as exc:
            LOG.error("%s: invalid configuration, feature disabled (Orthanc keeps serving): %s", SECTION, redact(exc))
            return cls(api, orthanc_config, error=redact(exc), **kwargs)
        if settings is not None and settings.enabled:
            LOG.info("%s: configuration valid, %d destination(s): %s", SECTION, len(settings.destinations),
                     ", ".join("%s (%s %s)" % (d.name, d.kind, d.server) for d in settings.destinations))
        return cls(api, orthanc_config, settings=settings, **kwargs)

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
        root = dicomweb_root(self.orthanc_config)
        senders = {}
        http = HttpClient(120.0)
        for d in settings.destinations:
            if d.kind == "dicomweb":
                direct = DirectStow(http, d.server, self._target(d.server),
                                    ca_bundle=self.orthanc_config.get("HttpsCACertificates") or None)
                senders[d.name] = DicomWebSender(self.api, root, d.server, d.batch_size, direct=direct,
                                                 transcode_syntaxes=d.transcode)
            else:
                senders[d.name] = PeerSender(self.api, d.server, d.batch_size)
        try:
            if self.queue.change_cursor() == 0:  # first start: route what arrives from now on
                self.queue.set_change_cursor(int(self.api.get_json("/changes?last").get("Last", 0)))
        except Exception as exc:
            LOG.warning("router: could not initialise the change cursor: %s", redact(exc))
        self._intake_thread = threading.Thread(target=self._intake_loop, name="medimaging-router-intake", daemon=True)
        self._intake_thread.start()
        self._intake.put(("sweep", None))
        self.workers = [Worker(i, self.queue, senders, settings, self.holds, self.metrics, self.api,
                               recover=self.sweep if i == 0 else None) for i in range(settings.workers)]
        for worker in self.workers:
            worker.start()

    def _target(self, server):
        """() -> (url, headers) of a DICOMweb server for DirectStow: the OAuth feature's (headers None while
        it has no valid token), else DicomWeb.Servers in Orthanc's configuration while Orthanc still uses that Url;
        None otherwise (then failed batches are resolved through Orthanc's client only)."""
        root = dicomweb_root(self.orthanc_config)

        def resolve():
            found = self.oauth.bearer(server) if self.oauth is not None else None
            return found if found is not None else configured_server(self.orthanc_config, self.api, root, server)
        return resolve

    def stop(self):
        for worker in self.workers:
            worker.stop()
        self._intake.put(("stop", None))
        for worker in self.workers:
            worker.join(timeout=30)
        if self._intake_thread is not None:
            self._intake_thread.join(timeout=10)
        if self.metrics is not None:
            self.metrics.close()
        self.workers = []
        if self.db is not None:
            self.db.close()

    # ---- change events (Orthanc's change thread: only hand over) ----
    def on_new_study(self, study_id):
        if self.workers:
            self._intake.put(("new", study_id))

    def on_stable_study(self, study_id):
        if self.workers:
            self._intake.put(("stable", study_id))

    def on_retrieved(self, server, study_uid):
        """Called by the priors feature after a study was retrieved from DICOMweb server `server`."""
        if self.workers:
            self._intake.put(("retrieved", (server, study_uid)))

    def _intake_loop(self):
        while True:
            kind, study_id = self._intake.get()
            if kind == "stop":
                return
            try:
                if kind == "retrieved":
                    self.note_retrieved(*study_id)
                elif kind == "new":
                    self.queue.note_arrival(study_id)
                elif kind == "stable":
                    self.route(study_id)
                else:
                    self.sweep(force=True)
            except Exception as exc:  # database down: keep the study, retried by the sweep
                LOG.warning("router: could not record %s study %s yet (%s); will retry", kind, study_id, redact(exc))
                if kind in ("new", "stable"):  # a lost "retrieved" note costs one send back, never data
                    with self._lock:
                        self._deferred.add((kind, study_id))

    def note_retrieved(self, server, study_uid):
        """Mark a study retrieved from a DICOMweb server as already at every destination that is that server."""
        targets = [d for d in self.settings.destinations if d.kind == "dicomweb" and d.server == server]
        if not targets:
            return
        found = json.loads(self.api.post("/tools/find", json.dumps(
            {"Level": "Study", "Query": {"StudyInstanceUID": study_uid}})) or b"[]")
        for study_id in found:
            count = int(self.api.get_json("/studies/%s/statistics" % study_id).get("CountInstances", 0))
            for destination in targets:
                if self.queue.record_present(study_id, study_uid, destination.name, count):
                    self.metrics.enqueue(destination.name, "from_destination")

    def route(self, study_id):
        """Enqueue a stable study for every destination whose filters accept it."""
        try:
            study = self.api.get_json("/studies/%s" % study_id)
        except Exception:
            self.queue.forget_arrival(study_id)  # deleted meanwhile
            return
        uid = study.get("MainDicomTags", {}).get("StudyInstanceUID", "")
        count = int(self.api.get_json("/studies/%s/statistics" % study_id).get("CountInstances", 0))
        facts = self._facts(study_id, study)
        for destination in self.settings.destinations:
            if not filters.accepts(destination, facts):
                self.metrics.enqueue(destination.name, "filtered")
                continue
            self.metrics.enqueue(destination.name, self.queue.enqueue(study_id, uid, destination.name, count))
        self.queue.forget_arrival(study_id)
        for worker in self.workers:
            worker.wakeup.set()

    def _facts(self, study_id, study):
        wanted = set()
        for destination in self.settings.destinations:
            wanted |= filters.needs(destination)
        if not wanted:
            return filters.StudyFacts()
        series = self.api.get_json("/studies/%s/series" % study_id)
        modalities = frozenset(s.get("MainDicomTags", {}).get("Modality", "").upper() for s in series)
        aets, tags = set(), None
        first_instances = [s["Instances"][0] for s in series if s.get("Instances")]
        if "aets" in wanted:
            for instance in first_instances:
                remote = self.api.get_json("/instances/%s/metadata?expand" % instance).get("RemoteAET")
                if remote:  # absent when not received by C-STORE
                    aets.add(remote.strip())
        if "tags" in wanted and first_instances:
            tags = dict(self.api.get_json("/instances/%s/simplified-tags" % first_instances[0]))
            short = self.api.get_json("/instances/%s/tags?short" % first_instances[0])
            tags.update({k.upper(): v for k, v in short.items()})
        return filters.StudyFacts(modalities=modalities, calling_aets=frozenset(aets), tags=tags)

    # ---- recovery sweep (worker 0, when idle) ----
    def sweep(self, force=False):
        now = time.monotonic()
        if not force and now - self._last_sweep < max(2.0, self.settings.poll * 5):
            return
        self._last_sweep = now
        with self._lock:
            deferred, self._deferred = self._deferred, set()
        for kind, study_id in sorted(deferred):
            self._intake.put((kind, study_id))
        self._catch_up_changes()
        for study_id in self.queue.orphaned_arrivals(self.settings.orphan_after):
            try:
                study = self.api.get_json("/studies/%s" % study_id)
            except Exception:
                self.queue.forget_arrival(study_id)
                continue
            updated = _parse_orthanc_time(study.get("LastUpdate"))
            if updated is None or time.time() - updated >= self.settings.orphan_after:
                LOG.info("router: study %s never became stable here (Orthanc restarted?); routing it now",
                         study.get("MainDicomTags", {}).get("StudyInstanceUID"))
                self._intake.put(("stable", study_id))

    def _catch_up_changes(self):
        """NewStudy changes after the stored cursor that left no trace in our tables: note them."""
        cursor = self.queue.change_cursor()
        while True:
            answer = self.api.get_json("/changes?since=%d&limit=500" % cursor)
            for change in answer.get("Changes", []):
                if change.get("ChangeType") == "NewStudy":
                    self.queue.note_arrival_if_unknown(change["ID"])
            last = int(answer.get("Last", cursor))
            if last > cursor:
                self.queue.set_change_cursor(last)
            if answer.get("Done", True) or last <= cursor:
                return
            cursor = last

    # ---- REST side ----
    def cached_stats(self, max_age=2.0):
        stamp, stats = self._stats_cache
        if self.queue is None or time.monotonic() - stamp < max_age:
            return stats
        try:
            stats = self.queue.stats()
            self._stats_cache = (time.monotonic(), stats)
        except Exception as exc:
            LOG.warning("router: queue statistics unavailable: %s", redact(exc))
        return stats

    def status(self):
        body = {"feature": SECTION, "state": self.state, "error": self.error, "destinations": {}}
        if self.settings is None or not self.settings.enabled:
            return body
        stats = self.cached_stats(max_age=0.0) if self.queue is not None else {}
        held = set(self.holds.held()) if self.holds else set()
        for d in self.settings.destinations:
            entry = {"pending": 0, "inflight": 0, "done": 0, "dead": 0, "dead_instances": 0, "oldest_pending_seconds": 0.0,
                     "bytes_sent": 0, "last_error": None}
            entry.update(stats.get(d.name, {}))
            if self.holds and self.holds.last_error.get(d.name) and d.name in held:
                entry["last_error"] = self.holds.last_error[d.name]
            entry["last_error"] = redact(entry["last_error"]) if entry["last_error"] else None
            entry["reachable"] = d.name not in held
            entry["config"] = d.public_view()
            body["destinations"][d.name] = entry
        if self.queue is not None:
            try:
                body["dead_letters"] = [dict(x, reason=redact(x["reason"] or "")) for x in self.queue.dead_letters(20)]
                body["dead_instances"] = [dict(x, reason=redact(x["reason"])) for x in
                                          self.queue.dead_instance_letters(50)]
            except Exception as exc:
                body["dead_letters_error"] = redact(exc)
        return body

    def retry_dead_letters(self, body):
        destination = read_object(body, {"Destination": str}, '{} or {"Destination": "NAME"}').get("Destination")
        if self.queue is None:
            return 503, {"error": "%s is %s" % (SECTION, self.state), "detail": self.error}
        if destination is not None and destination not in {d.name for d in self.settings.destinations}:
            return 404, {"error": "Destination: no destination named %r" % destination[:64]}
        count = self.queue.retry_dead_letters(destination)
        for worker in self.workers:
            worker.wakeup.set()
        return 200, {"requeued": count}
