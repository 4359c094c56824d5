"""Once per patient per time window: a gate that says whether to look for priors now.

The PostgreSQL gate is shared by replicas (one atomic upsert decides); the memory gate serves a
single Orthanc without PostgreSQL. Patients are keyed by a SHA-256 of the PatientID: no PHI stored.
"""

import hashlib
import threading
import time


def patient_key(patient_id):
    return hashlib.sha256(patient_id.encode("utf-8")).hexdigest()


class MemoryGate:
    def __init__(self, window, clock=time.time):
        self.window = window
        self.clock = clock
        self._seen = {}
        self._lock = threading.Lock()

    def claim(self, patient_id):
        key, now = patient_key(patient_id), self.clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < self.window:
                return False
            self._seen[key] = now
            return True


class PostgresGate:
    DDL = """CREATE SCHEMA IF NOT EXISTS medimaging_priors;
             CREATE TABLE IF NOT EXISTS medimaging_priors.lookups (
               patient_key text PRIMARY KEY, looked_at timestamptz NOT NULL DEFAULT now())"""

    def __init__(self, db, window):
        self.db = db
        self.window = window

    def ensure_schema(self):
        try:
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (0x70726972,))
                self.db.execute(self.DDL)  # no args: both statements at once
        except Exception:
            self.db.close()
            raise

    def claim(self, patient_id):
        row = self.db.execute(
            """INSERT INTO medimaging_priors.lookups AS l (patient_key) VALUES (%s)
               ON CONFLICT (patient_key) DO UPDATE SET looked_at = now()
               WHERE l.looked_at < now() - make_interval(secs => %s)
               RETURNING 1""", (patient_key(patient_id), self.window), fetch="one")
        return row is not None
