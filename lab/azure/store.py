"""The emulator's state: one JSON document on disk (0600: it holds keys), rewritten atomically on change.

Collections: resources (ARM, keyed by lower-cased id), operations (LROs), applications and
servicePrincipals (Graph), msiHosts (managed identity endpoints). A resource is {"body": what ARM returns, "private": what it never returns}.
"""
import copy
import json
import os
import threading

from lab.azure.config import write_private_json

COLLECTIONS = ("resources", "operations", "applications", "servicePrincipals", "msiHosts", "vaultSecrets")


class Store:
    def __init__(self, path):
        self.path = path
        self.lock = threading.RLock()
        self.data = {name: {} for name in COLLECTIONS}
        if os.path.exists(path):
            with open(path, encoding="utf-8") as handle:
                loaded = json.load(handle)
            for name in COLLECTIONS:
                self.data[name] = loaded.get(name, {})

    def save(self):
        with self.lock:
            write_private_json(self.path, self.data)

    # Resources -----------------------------------------------------------------------------------
    def get_resource(self, resource_id):
        with self.lock:
            found = self.data["resources"].get(resource_id.lower())
            return copy.deepcopy(found) if found else None

    def put_resource(self, resource_id, record):
        with self.lock:
            self.data["resources"][resource_id.lower()] = copy.deepcopy(record)
            self.save()

    def update_body(self, resource_id, mutate):
        """Apply mutate(body, private) under the lock; returns the new record or None if it is gone."""
        with self.lock:
            record = self.data["resources"].get(resource_id.lower())
            if record is None:
                return None
            mutate(record["body"], record.setdefault("private", {}))
            self.save()
            return copy.deepcopy(record)

    def delete_resource(self, resource_id):
        with self.lock:
            removed = self.data["resources"].pop(resource_id.lower(), None)
            self.save()
            return removed

    def resources(self, predicate=lambda record: True):
        with self.lock:
            return [copy.deepcopy(r) for r in self.data["resources"].values() if predicate(r)]

    def children_of(self, resource_id):
        """Every resource whose id lies under resource_id (nested and extension resources)."""
        prefix = resource_id.lower().rstrip("/") + "/"
        with self.lock:
            return [copy.deepcopy(r) for key, r in self.data["resources"].items() if key.startswith(prefix)]

    # Plain collections ---------------------------------------------------------------------------
    def get(self, collection, key):
        with self.lock:
            found = self.data[collection].get(key)
            return copy.deepcopy(found) if found is not None else None

    def put(self, collection, key, value):
        with self.lock:
            self.data[collection][key] = copy.deepcopy(value)
            self.save()

    def pop(self, collection, key):
        with self.lock:
            removed = self.data[collection].pop(key, None)
            self.save()
            return removed

    def values(self, collection):
        with self.lock:
            return copy.deepcopy(list(self.data[collection].values()))
