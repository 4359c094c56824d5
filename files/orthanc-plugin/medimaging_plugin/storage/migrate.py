"""Move Orthanc's attachments between its filesystem storage and the bucket, resumable and verified.

Why a plugin job and not an Ansible module: the plugin already holds the storage credentials (a managed or
workload identity token, an instance role): a module would need its own credentials on the controller, which is
the stored secret this feature exists to avoid; and the plugin reads Orthanc's index (attachment UUIDs and their
recorded MD5) through the internal REST API, with no HTTP credentials either. The orthanc_host role or an
operator drives it over REST:
  POST /medimaging/storage/migrate {"Direction": "ToObjectStorage"|"ToDisk", "DeleteSource": false}
  GET  /medimaging/storage/migrate  -> progress of the running or last run
Per attachment: the copy is verified against the MD5 Orthanc recorded when it stored the file
(attachments/NAME/info CompressedMD5: the bytes as stored) before the source is deleted, and only when
DeleteSource is true. A run can be stopped (restart Orthanc) and started again: attachments already at the
target with the right MD5 are skipped, so it resumes where it was. Needs HybridMode WriteToObjectStorage (the disk
folder comes from it), so that Orthanc reads both places while attachments move.
"""

import hashlib
import os
import threading
import time

from ..log import get_logger
from .errors import ObjectNotFound, StorageError
from .layout import candidate_names, filesystem_path, object_name

LOG = get_logger("storage.migrate")
DIRECTIONS = ("ToObjectStorage", "ToDisk")
PAGE = 500


def md5_hex(data):
    return hashlib.md5(data).hexdigest()  # noqa: S324 - integrity, the digest Orthanc records


def write_atomically(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = "%s.migrating-%d" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class Migration:
    """One run at a time; counts per outcome; the last MAX_ERRORS errors kept for the status."""

    MAX_ERRORS = 20

    def __init__(self, api, area, clock=time.time):
        self.api = api  # get_json(uri) on Orthanc's internal REST API
        self.area = area
        self.clock = clock
        self._lock = threading.Lock()
        self._thread = None
        self.progress = {"state": "idle"}

    # ---- REST side ----
    def start(self, direction, delete_source=False, background=True):
        if direction not in DIRECTIONS:
            return 400, {"error": "Direction must be one of %s" % ", ".join(DIRECTIONS)}
        if not self.area.disk_root:
            return 409, {"error": "set MedimagingStorage.HybridMode to WriteToObjectStorage first: the migration "
                                  "needs Orthanc's StorageDirectory and Orthanc must read both places meanwhile"}
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return 409, {"error": "a migration is already running", "progress": dict(self.progress)}
            self.progress = {"state": "running", "direction": direction, "delete_source": delete_source,
                             "started": self.clock(), "copied": 0, "already_there": 0, "missing_source": 0,
                             "deleted_source": 0, "failed": 0, "bytes": 0, "errors": []}
            if not background:
                self._run(direction, delete_source)
                return 200, dict(self.progress)
            self._thread = threading.Thread(target=self._run, args=(direction, delete_source),
                                            name="medimaging-storage-migrate", daemon=True)
            self._thread.start()
        return 202, dict(self.progress)

    def status(self):
        with self._lock:
            return dict(self.progress)

    # ---- the work ----
    def attachments(self):
        """(uuid, content type, md5 as stored) of every attachment of every instance, page by page."""
        since = 0
        while True:
            page = self.api.get_json("/instances?since=%d&limit=%d" % (since, PAGE))
            for instance in page:
                for name in self.api.get_json("/instances/%s/attachments" % instance):
                    info = self.api.get_json("/instances/%s/attachments/%s/info" % (instance, name))
                    yield info["Uuid"], int(info["ContentType"]), (info.get("CompressedMD5") or "").lower()
            if len(page) < PAGE:
                return
            since += PAGE

    def _count(self, key, amount=1):
        with self._lock:
            self.progress[key] += amount

    def _error(self, uuid, problem):
        with self._lock:
            self.progress["failed"] += 1
            if len(self.progress["errors"]) < self.MAX_ERRORS:
                self.progress["errors"].append({"uuid": uuid, "error": str(problem)[:300]})

    def _run(self, direction, delete_source):
        step = self._to_bucket if direction == "ToObjectStorage" else self._to_disk
        try:
            for uuid, content_type, expected in self.attachments():
                try:
                    step(uuid, content_type, expected, delete_source)
                except (StorageError, OSError, ValueError) as exc:
                    self._error(uuid, exc)
        except Exception as exc:  # the index walk itself failed: say so, keep Orthanc serving
            LOG.error("storage migration stopped: %s", exc)
            self._error("-", exc)
        with self._lock:
            self.progress["state"] = "done" if not self.progress["failed"] else "done-with-errors"
            self.progress["finished"] = self.clock()
        LOG.info("storage migration %s: %s", direction, {k: v for k, v in self.progress.items() if k != "errors"})

    def _verified(self, data, expected, where):
        if expected and md5_hex(data) != expected:
            raise StorageError("%s does not match the MD5 Orthanc recorded (%s): not migrated" % (where, expected))

    def _to_bucket(self, uuid, content_type, expected, delete_source):
        area, store = self.area, self.area.store
        name = object_name(uuid, content_type, area.structure, area.root)
        path = filesystem_path(area.disk_root, uuid)
        try:
            present = store.head(name)
        except ObjectNotFound:
            present = None
        if present and expected and present.get("md5") == expected:
            self._count("already_there")
        else:
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except FileNotFoundError:
                self._count("missing_source")  # already in the bucket under another name, or lost: not ours to fix
                return
            self._verified(data, expected, path)
            store.put(name, data)  # Content-MD5 checked by the service
            self._count("copied")
            self._count("bytes", len(data))
        if delete_source and os.path.exists(path):
            os.remove(path)
            self._count("deleted_source")

    def _to_disk(self, uuid, content_type, expected, delete_source):
        area, store = self.area, self.area.store
        path = filesystem_path(area.disk_root, uuid)
        if os.path.exists(path):
            with open(path, "rb") as handle:
                on_disk = handle.read()
            if not expected or md5_hex(on_disk) == expected:
                self._count("already_there")
                self._delete_objects(uuid, content_type, delete_source)
                return
        data = None
        for name in candidate_names(uuid, content_type, area.structure, area.root):
            try:
                data = store.get(name)
                break
            except ObjectNotFound:
                continue
        if data is None:
            self._count("missing_source")
            return
        self._verified(data, expected, "object of %s" % uuid)
        write_atomically(path, data)
        self._count("copied")
        self._count("bytes", len(data))
        self._delete_objects(uuid, content_type, delete_source)

    def _delete_objects(self, uuid, content_type, delete_source):
        if not delete_source:
            return
        area = self.area
        # every layout's name is deleted (no short-circuit): a copy under the other name must not linger
        deleted = [area.store.delete(n) for n in candidate_names(uuid, content_type, area.structure, area.root)]
        if any(deleted):
            self._count("deleted_source")
