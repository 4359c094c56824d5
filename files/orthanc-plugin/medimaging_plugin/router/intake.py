"""The router's intake: one thread turns Orthanc's changes into queue rows, and owns recovery.

Events (router/events.py) come from Orthanc's change thread, the priors feature and worker 0, which asks for
a Sweep when it is idle. Only this thread handles them and only this thread sweeps, so a sweep never runs
twice at once nor beside the routing of the study it recovers.
  NewStudy     -> note the arrival
  StableStudy  -> the facts the filters need -> filters per destination -> one queue row per accepted one
  Retrieved    -> the study is already at every destination that is the server it came from
  Sweep        -> deferred events again, NewStudy changes after the stored cursor, orphaned arrivals
A failure (database down) keeps a NewStudy or StableStudy for the next sweep. A study counts as deleted
only when Orthanc answers 404 for it; any other failure keeps it for a later attempt.
Handling an event twice is harmless (a deferred event may also arrive again): the queue's writes are
idempotent (an arrival or a study present at a destination is noted once; enqueue re-arms a study only
when its instance count changed).
"""

import json
import queue as queue_module
import threading
import time

from ..log import get_logger, redact
from . import filters
from .errors import is_unknown_resource
from .events import RETRIED, NewStudy, Retrieved, StableStudy, Stop, Sweep

LOG = get_logger("router")


def _parse_orthanc_time(text):
    """Orthanc's LastUpdate ('20261122T205910', local time) -> epoch seconds; None if unparseable."""
    try:
        return time.mktime(time.strptime(text[:15], "%Y%m%dT%H%M%S"))
    except (TypeError, ValueError):
        return None


def _instance_count(api, study_id):
    return int(api.get_json("/studies/%s/statistics" % study_id).get("CountInstances", 0))


class Intake:
    def __init__(self, api, queue, settings, metrics, wake, clock=time.monotonic, wall_clock=time.time):
        self.api = api
        self.queue = queue
        self.settings = settings
        self.metrics = metrics
        self.wake = wake  # () -> None: the workers have new items
        self.clock = clock
        self.wall_clock = wall_clock
        self._events = queue_module.Queue()
        self._deferred = set()  # this thread's only
        self._sweep_pending = threading.Event()
        self._last_sweep = None
        self._thread = None

    # ---- other threads: hand over only ----
    def start(self):
        self._thread = threading.Thread(target=self._loop, name="medimaging-router-intake", daemon=True)
        self._thread.start()
        self.put(Sweep(force=True))

    def put(self, event):
        self._events.put(event)

    def request_sweep(self):
        """Worker 0, when idle: ask for a (throttled) sweep; never blocks, never queues two requests."""
        if not self._sweep_pending.is_set():
            self._sweep_pending.set()
            self.put(Sweep())

    def stop(self, timeout=10):
        self.put(Stop())
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    # ---- the intake thread ----
    def _loop(self):
        while True:
            event = self._events.get()
            if isinstance(event, Stop):
                return
            self.handle(event)

    def handle(self, event):
        try:
            if isinstance(event, NewStudy):
                self.queue.note_arrival(event.study_id)
            elif isinstance(event, StableStudy):
                self.route(event.study_id)
            elif isinstance(event, Retrieved):
                self.note_retrieved(event.server, event.study_uid)
            else:
                self._sweep_pending.clear()
                self.sweep(event.force)
        except Exception as exc:  # database or Orthanc unavailable: a study event waits for the next sweep
            LOG.warning("router: could not handle %s yet (%s); will retry", event, redact(exc))
            if isinstance(event, RETRIED):
                self._deferred.add(event)

    def route(self, study_id):
        """Enqueue a stable study for every destination whose filters accept it."""
        try:
            study = self.api.get_json("/studies/%s" % study_id)
        except Exception as exc:
            if not is_unknown_resource(exc):
                raise
            self.queue.forget_arrival(study_id)  # deleted meanwhile
            return
        uid = study.get("MainDicomTags", {}).get("StudyInstanceUID", "")
        count = _instance_count(self.api, study_id)
        facts = filters.gather_facts(self.api, study_id, self.settings.destinations)
        for destination in self.settings.destinations:
            if not filters.accepts(destination, facts):
                self.metrics.enqueue(destination.name, "filtered")
                continue
            self.metrics.enqueue(destination.name, self.queue.enqueue(study_id, uid, destination.name, count))
        self.queue.forget_arrival(study_id)
        self.wake()

    def note_retrieved(self, server, study_uid):
        """Mark a study retrieved from a DICOMweb server as already at every destination that is that server."""
        targets = [d for d in self.settings.destinations if d.kind == "dicomweb" and d.server == server]
        if not targets:
            return
        found = json.loads(self.api.post("/tools/find", json.dumps(
            {"Level": "Study", "Query": {"StudyInstanceUID": study_uid}})) or b"[]")
        for study_id in found:
            count = _instance_count(self.api, study_id)
            for destination in targets:
                if self.queue.record_present(study_id, study_uid, destination.name, count):
                    self.metrics.enqueue(destination.name, "from_destination")

    def sweep(self, force=False):
        now = self.clock()
        if not force and self._last_sweep is not None and now - self._last_sweep < max(2.0, self.settings.poll * 5):
            return
        self._last_sweep = now
        deferred, self._deferred = self._deferred, set()
        for event in sorted(deferred, key=lambda e: (type(e).__name__, e.study_id)):
            self.put(event)
        self._catch_up_changes()
        for study_id in self.queue.orphaned_arrivals(self.settings.orphan_after):
            self._route_if_orphaned(study_id)

    def _route_if_orphaned(self, study_id):
        try:
            study = self.api.get_json("/studies/%s" % study_id)
        except Exception as exc:
            if is_unknown_resource(exc):
                self.queue.forget_arrival(study_id)
            else:
                LOG.warning("router: arrival %s not checked yet (%s)", study_id, redact(exc))
            return
        updated = _parse_orthanc_time(study.get("LastUpdate"))
        if updated is None or self.wall_clock() - updated >= self.settings.orphan_after:
            LOG.info("router: study %s never became stable here (Orthanc restarted?); routing it now",
                     study.get("MainDicomTags", {}).get("StudyInstanceUID"))
            self.put(StableStudy(study_id))

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
