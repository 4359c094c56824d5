"""The MedimagingArchive feature: restore an archived study from its Blob manifest into this Orthanc.

POST /medimaging/archive/restore {"StudyInstanceUID": "1.2.3"}:
  manifest GET -> parse and check every entry -> instances already in Orthanc are skipped (same MD5) ->
  each missing instance: GET its blob, MD5 compared with the manifest (a mismatch is refused, never
  stored) -> POST /instances -> Orthanc's recorded MD5 compared again.
Answers counts {"restored", "already_present", "failed", "bytes"}: 200 when nothing failed, 502 otherwise.
An instance present locally with another MD5 is never overwritten (counted failed, resolve by hand).
"""

import hashlib
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ..feature_state import feature_state, load_settings
from ..log import get_logger, redact
from ..metrics import REGISTRY, unregister
from ..metrics_core import Counter
from ..request_body import read_object
from ..tokens.http import TokenHttpClient
from ..tokens.providers import build_provider
from .blob import BearerCredential, BlobError, BlobNotFound, BlobReader, SasCredential
from .config import SECTION, load_archive_settings
from .manifest import ManifestError, manifest_name, parse_manifest, valid_uid

LOG = get_logger("archive")
MAX_ERRORS = 20


def _describe(settings):
    return "container %s, auth %s" % (settings.container_url, settings.auth)


class OrthancArchiveApi:
    """What the feature needs of Orthanc, over the plugin's raw RestApiGet/RestApiPost functions."""

    def __init__(self, rest_get, rest_post):
        self._get = rest_get
        self._post = rest_post

    def study_ids(self, study_uid):
        found = json.loads(self._post("/tools/lookup", study_uid) or b"[]")
        return [r["ID"] for r in found if r.get("Type") == "Study"]

    def instances(self, study_id):
        return json.loads(self._get("/studies/%s/instances" % study_id))

    def instance_md5(self, instance_id):
        try:
            answer = self._get("/instances/%s/attachments/dicom/md5" % instance_id)
        except Exception:  # StoreMD5ForAttachments false, or the instance is gone
            return None
        text = answer.decode("ascii", "replace") if isinstance(answer, (bytes, bytearray)) else str(answer)
        return text.strip().lower() or None

    def store(self, data):
        return json.loads(self._post("/instances", bytes(data)))


class ArchiveMetrics:
    def __init__(self, registry):
        self._registry = registry
        self.restores = Counter("medimaging_archive_restores", "Restore requests by result "
                                "(ok, partial, not_found, error)", ["result"], registry=registry)
        self.instances = Counter("medimaging_archive_restored_instances", "Instances handled by restores, by "
                                 "result (restored, already_present, failed)", ["result"], registry=registry)
        self.bytes = Counter("medimaging_archive_restored_bytes", "Bytes of DICOM restored into Orthanc",
                             registry=registry)

    def close(self):
        unregister((self.restores, self.instances, self.bytes), self._registry)


class ArchiveFeature:
    def __init__(self, api, settings=None, error=None, environ=None, registry=REGISTRY, reader=None):
        self.api = api
        self.settings = settings
        self.error = error
        self.environ = environ if environ is not None else {}
        self.registry = registry
        self.reader = reader
        self.metrics = None
        self._lock = threading.Lock()
        self._in_progress = set()
        self.recent = []

    @classmethod
    def from_config(cls, api, orthanc_config, environ, **kwargs):
        settings, error = load_settings(SECTION, load_archive_settings, _describe, LOG, orthanc_config, environ)
        return cls(api, settings=settings, error=error, environ=environ, **kwargs)

    @property
    def state(self):
        return feature_state(self.error, self.settings, self.metrics is not None)

    def start(self):
        if self.state != "starting":
            return
        s = self.settings
        if self.reader is None:
            if s.auth == "token":
                provider = build_provider(s.token_server, TokenHttpClient(s.timeout), self.environ)
                credential = BearerCredential(provider)
            else:
                credential = SasCredential(s.sas, self.environ)
            self.reader = BlobReader(s.container_url, credential, s.api_version, s.ca_bundle, s.timeout)
        self.metrics = ArchiveMetrics(self.registry)

    def stop(self):
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None

    # ---- REST side ----
    def status(self):
        with self._lock:
            in_progress = sorted(self._in_progress)
        return {"feature": SECTION, "state": self.state, "error": self.error,
                "config": self.settings.public_view() if self.settings and self.settings.enabled else None,
                "in_progress": in_progress, "recent": list(self.recent)}

    def restore_request(self, body):
        """(HTTP status, JSON answer) for POST /medimaging/archive/restore."""
        uid = read_object(body, {"StudyInstanceUID": str}, '{"StudyInstanceUID": "<a DICOM UID>"}').get("StudyInstanceUID")
        if not valid_uid(uid):
            return 400, {"error": "StudyInstanceUID must be a DICOM UID (digits and dots, 64 characters at most)"}
        if self.state != "running":
            return 503, {"error": "%s is %s" % (SECTION, self.state), "detail": self.error}
        with self._lock:
            if uid in self._in_progress:
                return 409, {"error": "a restore of study %s is already running" % uid}
            self._in_progress.add(uid)
        try:
            status, answer = self.restore(uid)
        finally:
            with self._lock:
                self._in_progress.discard(uid)
        kept = ("StudyInstanceUID", "result", "restored", "already_present", "failed", "bytes", "error")
        summary = {k: answer.get(k) for k in kept if k in answer}
        summary["at"] = time.time()
        self.recent = (self.recent + [summary])[-20:]
        return status, answer

    def restore(self, uid):
        started = time.monotonic()
        result = {"StudyInstanceUID": uid, "restored": 0, "already_present": 0, "failed": 0, "bytes": 0}
        try:
            entries = self._manifest_entries(uid)
        except BlobNotFound:
            self.metrics.restores.labels("not_found").inc()
            return 404, dict(result, result="not_found", error="no archive manifest for study %s" % uid)
        except (BlobError, ManifestError) as exc:
            self.metrics.restores.labels("error").inc()
            LOG.error("archive: restore of study %s failed: %s", uid, redact(exc))
            return 502, dict(result, result="error", error=redact(exc))
        result["instances"] = len(entries)
        todo, errors = self._plan(uid, entries, result)
        workers = max(1, min(self.settings.concurrency if self.settings else 4, len(todo) or 1))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="medimaging-restore") as pool:
            outcomes = list(pool.map(self._restore_one, todo))
        for entry, (outcome, size, reason) in zip(todo, outcomes):
            if outcome == "restored":
                result["restored"] += 1
                result["bytes"] += size
            elif outcome == "already_present":
                result["already_present"] += 1
            else:
                errors.append(self._failure(entry, reason))
        result["failed"] = len(errors)
        if errors:
            result["errors"] = errors[:MAX_ERRORS]
        result["result"] = "ok" if not errors else "partial"
        result["seconds"] = round(time.monotonic() - started, 3)
        self._count(uid, result)
        return (200 if not errors else 502), result

    def _manifest_entries(self, uid):
        """The study's manifest entries, checked (archive/manifest.py) before any of its blobs is read."""
        data, stored_md5 = self.reader.get(manifest_name(uid))
        if stored_md5 and stored_md5 != hashlib.md5(data).hexdigest():  # nosec - integrity check
            raise ManifestError("manifest of study %s does not match its stored Content-MD5" % uid)
        return parse_manifest(data, uid).entries

    def _plan(self, uid, entries, result):
        """(entries to restore, failures): an instance present with the same MD5 is counted in result, one present
        with another MD5 is never overwritten."""
        local = self._local_md5s(uid)
        todo, errors = [], []
        for entry in entries:
            if entry.sop_uid not in local:
                todo.append(entry)
            elif local[entry.sop_uid] in (None, entry.md5):
                result["already_present"] += 1
            else:
                errors.append(self._failure(entry, "present in Orthanc with another MD5: not overwritten"))
        return todo, errors

    def _count(self, uid, result):
        """Metrics and the log line of one restore."""
        self.metrics.restores.labels(result["result"]).inc()
        for key in ("restored", "already_present", "failed"):
            if result[key]:
                self.metrics.instances.labels(key).inc(result[key])
        self.metrics.bytes.inc(result["bytes"])
        log = LOG.info if not result["failed"] else LOG.warning
        log("archive: study %s restore %s: %d restored, %d already present, %d failed, %d bytes", uid,
            result["result"], result["restored"], result["already_present"], result["failed"], result["bytes"])

    @staticmethod
    def _failure(entry, reason):
        LOG.warning("archive: instance %s (%s) not restored: %s", entry.sop_uid, entry.blob, reason)
        return {"SOPInstanceUID": entry.sop_uid, "blob": entry.blob, "error": reason}

    def _local_md5s(self, uid):
        md5s = {}
        for study_id in self.api.study_ids(uid):
            for instance in self.api.instances(study_id):
                sop = (instance.get("MainDicomTags") or {}).get("SOPInstanceUID")
                if sop:
                    md5s[sop] = self.api.instance_md5(instance["ID"])
        return md5s

    def _restore_one(self, entry):
        """-> (outcome, bytes, reason). Never raises: one instance must not stop the others."""
        try:
            data, _stored = self.reader.get(entry.blob)
        except BlobError as exc:
            return "failed", 0, redact(exc)
        except Exception as exc:  # noqa: BLE001 - a surprise in one instance is reported, not propagated
            return "failed", 0, "unexpected %s" % type(exc).__name__
        md5 = hashlib.md5(data).hexdigest()  # nosec - integrity check, as Azure's Content-MD5
        if md5 != entry.md5:
            return "failed", 0, "blob has MD5 %s but the manifest records %s: refused, not stored" % (md5, entry.md5)
        if len(data) != entry.size:
            return "failed", 0, "blob has %d bytes but the manifest records %d: refused" % (len(data), entry.size)
        try:
            answer = self.api.store(data)
        except Exception as exc:  # Orthanc refused the file
            text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            return "failed", 0, "Orthanc refused the instance: %s" % redact(text)
        if answer.get("Status") == "AlreadyStored":
            return "already_present", 0, None
        recorded = self.api.instance_md5(answer.get("ID", "")) if answer.get("ID") else None
        if recorded and recorded != md5:
            return "failed", 0, "Orthanc recorded MD5 %s after storing, expected %s" % (recorded, md5)
        return "restored", len(data), None
