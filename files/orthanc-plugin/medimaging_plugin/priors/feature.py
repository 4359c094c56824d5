"""The MedimagingPriors feature: NEW_STUDY -> (once per patient per window) QIDO the cloud by
PatientID -> retrieve the most recent N priors through Orthanc's DICOMweb client.

Work runs on its own thread(s), never on Orthanc's change thread. Priors retrieved here arrive as
new studies too; the per-patient window stops them from triggering another lookup.
"""

import json
import queue as queue_module
import threading
import time

from ..dicomweb import dicomweb_root
from ..feature_state import feature_state, load_settings
from ..log import get_logger, redact
from ..metrics import REGISTRY, unregister
from ..metrics_core import Counter, Histogram
from . import selection
from .config import SECTION, load_priors_settings
from .gate import MemoryGate, PostgresGate

LOG = get_logger("priors")


def _describe(settings):
    return "server %s, %d most recent prior(s)" % (settings.server, settings.count)


class PriorsMetrics:
    def __init__(self, registry):
        self._registry = registry
        self.lookups = Counter("medimaging_priors_lookups", "Prior lookups by result "
                               "(fetched, none, local, window, error)", ["result"], registry=registry)
        self.studies = Counter("medimaging_priors_studies_retrieved", "Prior studies retrieved", registry=registry)
        self.duration = Histogram("medimaging_priors_lookup_duration_seconds", "QIDO + retrieve time per lookup",
                                  buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120), registry=registry)

    def close(self):
        unregister((self.lookups, self.studies, self.duration), self._registry)


class PriorsFeature:
    def __init__(self, api, orthanc_config, settings=None, error=None, registry=REGISTRY, gate=None):
        self.api = api
        self.orthanc_config = orthanc_config
        self.settings = settings
        self.error = error
        self.registry = registry
        self.gate = gate
        self.metrics = None
        self._work = queue_module.Queue()
        self._threads = []
        self.recent = []  # last lookups (UIDs, counts, errors): for the status endpoint
        self.retrieved_listeners = []  # callables(server, study_uid) told of every study retrieved

    @classmethod
    def from_config(cls, api, orthanc_config, environ, **kwargs):
        settings, error = load_settings(SECTION, load_priors_settings, _describe, LOG, orthanc_config, environ)
        return cls(api, orthanc_config, settings=settings, error=error, **kwargs)

    @property
    def state(self):
        return feature_state(self.error, self.settings, bool(self._threads))

    def start(self):
        if self.state != "starting":
            return
        if self.gate is None:
            if self.settings.db_params:
                from ..database import Database
                self.gate = PostgresGate(Database(self.settings.db_params), self.settings.window)
                try:
                    self.gate.ensure_schema()
                except Exception as exc:
                    self.error = "cannot prepare schema medimaging_priors in PostgreSQL: %s" % redact(exc)
                    LOG.error("%s: feature disabled: %s", SECTION, self.error)
                    return
            else:
                self.gate = MemoryGate(self.settings.window)
        self.metrics = PriorsMetrics(self.registry)
        self.base = "%sservers/%s" % (dicomweb_root(self.orthanc_config), self.settings.server)
        for index in range(self.settings.workers):
            thread = threading.Thread(target=self._loop, name="medimaging-priors-%d" % index, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self):
        for _thread in self._threads:
            self._work.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads = []
        if self.metrics is not None:
            self.metrics.close()

    def on_new_study(self, study_id):
        if self._threads:
            self._work.put(study_id)

    def _loop(self):
        while True:
            study_id = self._work.get()
            if study_id is None:
                return
            try:
                self.lookup(study_id)
            except Exception as exc:
                self.metrics.lookups.labels("error").inc()
                LOG.warning("priors: lookup for study %s failed: %s", study_id, redact(exc))
                self._remember({"study_id": study_id, "error": redact(exc)})

    def _remember(self, entry):
        entry["at"] = time.time()
        self.recent = (self.recent + [entry])[-20:]

    def _qido(self, uri, arguments):
        body = json.dumps({"Uri": uri, "Arguments": arguments})
        return json.loads(self.api.post(self.base + "/qido", body) or b"[]")

    def _is_local(self, study_uid):
        found = self.api.post("/tools/find", json.dumps({"Level": "Study", "Query": {"StudyInstanceUID": study_uid}}))
        return bool(json.loads(found))

    def lookup(self, study_id):
        """Returns the list of StudyInstanceUIDs retrieved (possibly empty)."""
        study = self.api.get_json("/studies/%s" % study_id)
        patient_id = (study.get("PatientMainDicomTags") or {}).get("PatientID", "")
        current_uid = (study.get("MainDicomTags") or {}).get("StudyInstanceUID", "")
        if not patient_id:
            self.metrics.lookups.labels("none").inc()
            return []
        if not self.gate.claim(patient_id):
            self.metrics.lookups.labels("window").inc()
            return []
        started = time.monotonic()
        answer = self._qido("/studies", {"PatientID": patient_id, "includefield": selection.INCLUDE_FIELDS})
        # Keep extra candidates: some may be filtered out by body part.
        candidates = selection.most_recent(answer, current_uid, self.settings.count * 3 if self.settings.body_parts
                                           else self.settings.count, self.settings.modalities)
        chosen = []
        for uid, date in candidates:
            if self.settings.body_parts:
                parts = selection.body_parts_of(self._qido("/studies/%s/series" % uid,
                                                           {"includefield": selection.BODY_PART}))
                if not parts & set(self.settings.body_parts):
                    continue
            chosen.append((uid, date))
            if len(chosen) == self.settings.count:
                break
        wanted = [uid for uid, _date in chosen if not self._is_local(uid)]
        for uid in wanted:
            self.api.post(self.base + "/retrieve", json.dumps({"Resources": [{"Study": uid}]}))
            self.metrics.studies.inc()
            for listener in self.retrieved_listeners:  # the router: do not send it back where it came from
                listener(self.settings.server, uid)
        self.metrics.duration.observe(time.monotonic() - started)
        self.metrics.lookups.labels("fetched" if wanted else ("local" if chosen else "none")).inc()
        LOG.info("priors: study %s: %d prior(s) found in %s, %d retrieved", current_uid, len(chosen),
                 self.settings.server, len(wanted))
        self._remember({"study_uid": current_uid, "found": len(answer) if isinstance(answer, list) else 0,
                        "priors": [uid for uid, _date in chosen], "retrieved": wanted})
        return wanted

    def status(self):
        body = {"feature": SECTION, "state": self.state, "error": self.error}
        if self.settings is not None and self.settings.enabled:
            body["config"] = self.settings.public_view()
            body["queued"] = self._work.qsize()
            body["recent"] = self.recent
        return body
