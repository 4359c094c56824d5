"""The three callbacks Orthanc calls for its attachments (orthanc.RegisterStorageArea: create, read, remove).

create raises on any failure (after the store's retries): orthanc-python then returns an error to Orthanc, which
refuses the instance (C-STORE failure status, HTTP error on POST /instances) and indexes nothing. A write is done
when the service acknowledged the body whose Content-MD5 it checked.
Hybrid mode (HybridMode WriteToObjectStorage, the official plugins' name): new attachments go to the bucket,
reads fall back to Orthanc's filesystem storage for attachments written before the switch, removes clean both.
"""

import os
import time

from ..log import get_logger
from .errors import ObjectNotFound, StorageError
from .layout import candidate_names, filesystem_path, object_name

LOG = get_logger("storage")


class StorageArea:
    def __init__(self, store, metrics, structure="flat", root="", disk_root=None, clock=time.monotonic):
        self.store = store
        self.metrics = metrics
        self.structure = structure
        self.root = root
        self.disk_root = disk_root  # hybrid mode: Orthanc's StorageDirectory
        self.clock = clock
        store.on_retry = lambda operation: metrics.retries.labels(store.backend, operation).inc()

    def _done(self, operation, started, result, size=None):
        backend = self.store.backend
        self.metrics.operations.labels(backend, operation, result).inc()
        self.metrics.latency.labels(backend, operation).observe(self.clock() - started)
        if size is not None:
            self.metrics.bytes.labels(backend, operation).inc(size)

    def create(self, uuid, content_type, data):
        started = self.clock()
        name = object_name(uuid, content_type, self.structure, self.root)
        try:
            self.store.put(name, bytes(data))
        except StorageError as exc:
            self._done("create", started, "error")
            LOG.error("storing attachment %s failed, Orthanc refuses it: %s", name, exc)
            raise
        self._done("create", started, "ok", len(data))

    def read(self, uuid, content_type):
        started = self.clock()
        try:
            for name in candidate_names(uuid, content_type, self.structure, self.root):
                try:
                    data = self.store.get(name)
                except ObjectNotFound:
                    continue
                self._done("read", started, "ok", len(data))
                return data
            data = self._read_disk(uuid)
        except StorageError as exc:
            self._done("read", started, "error")
            LOG.error("reading attachment %s failed: %s", uuid, exc)
            raise
        if data is None:
            self._done("read", started, "not_found")
            raise ObjectNotFound("attachment %s is in neither layout under %r%s" % (
                uuid, self.root or "/", " nor on disk" if self.disk_root else ""))
        self._done("read", started, "disk", len(data))
        return data

    def _read_disk(self, uuid):
        if not self.disk_root:
            return None
        try:
            with open(filesystem_path(self.disk_root, uuid), "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None

    def remove(self, uuid, content_type):
        started = self.clock()
        try:
            for name in candidate_names(uuid, content_type, self.structure, self.root):
                self.store.delete(name)
        except StorageError as exc:
            self._done("remove", started, "error")
            LOG.error("removing attachment %s failed: %s", uuid, exc)
            raise
        if self.disk_root:
            try:
                os.remove(filesystem_path(self.disk_root, uuid))
            except FileNotFoundError:
                pass
        self._done("remove", started, "ok")
