"""The durable routing queue, in PostgreSQL (Orthanc's index database, schema medimaging_router).

One row per (study, destination), unique, so a study is enqueued once however many replicas see it.
States:  pending --claim--> inflight --complete--> done
                               |--fail (transient)--> pending (next_attempt_at later)
                               |--dead_letter-------> dead --retry_dead_letters--> pending
         inflight whose lease expired (crashed worker) is claimable again.
A claim is one UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED): replicas never take the
same row at once. Each claim gets a fresh lease token; complete/fail/dead_letter only apply while
the caller still holds that lease. `generation` grows when a study changes (new instances after a
send): completing an older generation puts the row back to pending instead of done.
`arrivals` remembers studies seen but not yet stable, so a crash before StableStudy loses nothing.
`dead_instances` holds instances a destination refused for good (one row per destination and
SOPInstanceUID, with its FailureReason): their study is done, they wait for retry_dead_letters.
"""

import secrets
from dataclasses import dataclass

SCHEMA = "medimaging_router"
_LOCK_KEY = 0x6D656469  # advisory lock serialising schema creation between replicas

DDL = """
CREATE SCHEMA IF NOT EXISTS medimaging_router;
CREATE TABLE IF NOT EXISTS medimaging_router.items (
  id              bigserial PRIMARY KEY,
  study_id        text NOT NULL,
  study_uid       text NOT NULL,
  destination     text NOT NULL,
  state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'inflight', 'done', 'dead')),
  generation      integer NOT NULL DEFAULT 1,
  instances       integer NOT NULL DEFAULT 0,
  attempts        integer NOT NULL DEFAULT 0,
  rejections      integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  lease_token     text,
  lease_owner     text,
  lease_until     timestamptz,
  last_error      text,
  instances_sent  integer NOT NULL DEFAULT 0,
  bytes_sent      bigint NOT NULL DEFAULT 0,
  enqueued_at     timestamptz NOT NULL DEFAULT now(),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  done_at         timestamptz,
  UNIQUE (study_id, destination)
);
CREATE INDEX IF NOT EXISTS items_claim ON medimaging_router.items (next_attempt_at) WHERE state IN ('pending', 'inflight');
CREATE TABLE IF NOT EXISTS medimaging_router.arrivals (
  study_id  text PRIMARY KEY,
  seen_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS medimaging_router.dead_instances (
  destination     text NOT NULL,
  sop_uid         text NOT NULL,
  study_id        text NOT NULL,
  study_uid       text NOT NULL,
  failure_code    integer,
  reason          text NOT NULL,
  since           timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (destination, sop_uid)
);
CREATE TABLE IF NOT EXISTS medimaging_router.cursor (
  id        integer PRIMARY KEY CHECK (id = 1),
  last_seq  bigint NOT NULL
);
"""

COLUMNS = ("id", "study_id", "study_uid", "destination", "state", "generation", "instances", "attempts",
           "rejections", "lease_token", "last_error")


@dataclass(frozen=True)
class Item:
    id: int
    study_id: str
    study_uid: str
    destination: str
    state: str
    generation: int
    instances: int
    attempts: int
    rejections: int
    lease_token: str
    last_error: str
    # Claimed from a worker whose lease expired (it crashed or hung mid-send): some instances may be there already.
    taken_over: bool = False


class RouterQueue:
    def __init__(self, db):
        self.db = db

    def ensure_schema(self):
        try:
            with self.db.transaction():
                self.db.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                self.db.execute(DDL)  # no args: sent as is, all statements at once
        except Exception:
            self.db.close()
            raise

    # ---- producers ----
    def note_arrival(self, study_id):
        self.db.execute("INSERT INTO medimaging_router.arrivals (study_id) VALUES (%s) ON CONFLICT DO NOTHING",
                        (study_id,))

    def forget_arrival(self, study_id):
        self.db.execute("DELETE FROM medimaging_router.arrivals WHERE study_id = %s", (study_id,))

    def note_arrival_if_unknown(self, study_id):
        """From the /changes catch-up: note a study only if neither table knows it."""
        self.db.execute("INSERT INTO medimaging_router.arrivals (study_id) SELECT %s WHERE NOT EXISTS "
                        "(SELECT 1 FROM medimaging_router.items WHERE study_id = %s) ON CONFLICT DO NOTHING",
                        (study_id, study_id))

    def change_cursor(self):
        """Last Orthanc change sequence number the catch-up sweep has looked at (shared by replicas)."""
        row = self.db.execute("SELECT last_seq FROM medimaging_router.cursor WHERE id = 1", fetch="one")
        return int(row[0]) if row else 0

    def set_change_cursor(self, seq):
        self.db.execute("INSERT INTO medimaging_router.cursor AS c (id, last_seq) VALUES (1, %s) "
                        "ON CONFLICT (id) DO UPDATE SET last_seq = GREATEST(c.last_seq, EXCLUDED.last_seq)", (seq,))

    def orphaned_arrivals(self, older_than_seconds, limit=50):
        rows = self.db.execute(
            "SELECT study_id FROM medimaging_router.arrivals WHERE seen_at < now() - make_interval(secs => %s) "
            "ORDER BY seen_at LIMIT %s", (older_than_seconds, limit), fetch="all")
        return [row[0] for row in rows]

    def enqueue(self, study_id, study_uid, destination, instances):
        """Insert, or re-arm when the study changed since (another instance count). Returns
        'new', 'rearmed' or 'unchanged'."""
        row = self.db.execute(
            """INSERT INTO medimaging_router.items AS i (study_id, study_uid, destination, instances)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (study_id, destination) DO UPDATE SET
                 generation = i.generation + 1,
                 instances = EXCLUDED.instances,
                 state = CASE WHEN i.state IN ('done', 'dead') THEN 'pending' ELSE i.state END,
                 attempts = CASE WHEN i.state IN ('done', 'dead') THEN 0 ELSE i.attempts END,
                 rejections = CASE WHEN i.state IN ('done', 'dead') THEN 0 ELSE i.rejections END,
                 next_attempt_at = CASE WHEN i.state IN ('done', 'dead') THEN now() ELSE i.next_attempt_at END,
                 updated_at = now()
               WHERE i.instances <> EXCLUDED.instances
               RETURNING (xmax = 0) AS inserted""",
            (study_id, study_uid, destination, instances), fetch="one")
        if row is None:
            return "unchanged"
        return "new" if row[0] else "rearmed"

    def record_present(self, study_id, study_uid, destination, instances):
        """The study came FROM this destination (a prior retrieved from it): record it as sent, so that
        its stable event finds it unchanged instead of sending it back. A study already queued is left
        alone. Returns True when recorded."""
        return self.db.execute(
            """INSERT INTO medimaging_router.items (study_id, study_uid, destination, instances, state,
                                                    last_error)
               VALUES (%s, %s, %s, %s, 'done', 'retrieved from this destination: not sent back')
               ON CONFLICT (study_id, destination) DO NOTHING""",
            (study_id, study_uid, destination, instances)) == 1

    # ---- the worker side ----
    def claim(self, owner, lease_seconds, exclude_destinations=()):
        """Take the next due item (pending, or inflight with an expired lease). None when idle."""
        token = secrets.token_hex(8)
        row = self.db.execute(
            """WITH picked AS (
                 SELECT id, state AS was FROM medimaging_router.items
                 WHERE ((state = 'pending' AND next_attempt_at <= now())
                        OR (state = 'inflight' AND lease_until < now()))
                   AND destination <> ALL(%s)
                 ORDER BY next_attempt_at, id LIMIT 1
                 FOR UPDATE SKIP LOCKED)
               UPDATE medimaging_router.items AS i SET state = 'inflight', lease_token = %s, lease_owner = %s,
                 lease_until = now() + make_interval(secs => %s), updated_at = now()
               FROM picked WHERE i.id = picked.id
               RETURNING """ + ", ".join("i." + column for column in COLUMNS) + ", picked.was = 'inflight'",
            (list(exclude_destinations), token, owner, lease_seconds), fetch="one")
        return Item(*row) if row else None

    def extend(self, item, lease_seconds):
        """Keep the lease during a long send. False when the lease was lost (another worker took over)."""
        return self.db.execute(
            "UPDATE medimaging_router.items SET lease_until = now() + make_interval(secs => %s) "
            "WHERE id = %s AND lease_token = %s AND state = 'inflight'",
            (lease_seconds, item.id, item.lease_token)) == 1

    def complete(self, item, instances_sent, bytes_sent):
        """Done, unless the study changed while we sent it (then pending again, at once)."""
        return self.db.execute(
            """UPDATE medimaging_router.items SET
                 state = CASE WHEN generation = %s THEN 'done' ELSE 'pending' END,
                 done_at = CASE WHEN generation = %s THEN now() ELSE done_at END,
                 next_attempt_at = now(), lease_token = NULL, lease_until = NULL, last_error = NULL,
                 instances_sent = instances_sent + %s, bytes_sent = bytes_sent + %s, updated_at = now()
               WHERE id = %s AND lease_token = %s AND state = 'inflight'""",
            (item.generation, item.generation, instances_sent, bytes_sent, item.id, item.lease_token)) == 1

    def fail(self, item, delay_seconds, error, count_attempt=True, rejection=False):
        """Back to pending, due in delay_seconds."""
        return self.db.execute(
            """UPDATE medimaging_router.items SET state = 'pending',
                 next_attempt_at = now() + make_interval(secs => %s), attempts = attempts + %s,
                 rejections = rejections + %s, last_error = %s,
                 lease_token = NULL, lease_until = NULL, updated_at = now()
               WHERE id = %s AND lease_token = %s AND state = 'inflight'""",
            (delay_seconds, 1 if count_attempt else 0, 1 if rejection else 0, error[:2000], item.id,
             item.lease_token)) == 1

    def dead_letter(self, item, reason):
        return self.db.execute(
            """UPDATE medimaging_router.items SET state = 'dead', last_error = %s, attempts = attempts + 1,
                 lease_token = NULL, lease_until = NULL, updated_at = now()
               WHERE id = %s AND lease_token = %s AND state = 'inflight'""",
            (reason[:2000], item.id, item.lease_token)) == 1

    def dead_letter_instances(self, item, refused):
        """Record [(SOPInstanceUID, failure code or None, reason)] refused for good by item's destination."""
        for uid, code, reason in refused:
            self.db.execute(
                """INSERT INTO medimaging_router.dead_instances AS d
                     (destination, sop_uid, study_id, study_uid, failure_code, reason)
                   VALUES (%s, %s, %s, %s, %s, %s)
                   ON CONFLICT (destination, sop_uid) DO UPDATE SET failure_code = EXCLUDED.failure_code,
                     reason = EXCLUDED.reason, study_id = EXCLUDED.study_id, since = now()""",
                (item.destination, uid, item.study_id, item.study_uid, code, reason[:2000]))

    def retry_dead_letters(self, destination=None):
        """Dead-lettered items, and the studies of dead-lettered instances, back to pending (after the cause
        was fixed). Returns how many items."""
        revived = self.db.execute(
            """WITH gone AS (DELETE FROM medimaging_router.dead_instances
                             WHERE (%s::text IS NULL OR destination = %s) RETURNING study_id, destination)
               UPDATE medimaging_router.items SET state = 'pending', attempts = 0, rejections = 0,
                 next_attempt_at = now(), updated_at = now()
               WHERE state = 'done' AND (study_id, destination) IN (SELECT study_id, destination FROM gone)""",
            (destination, destination))
        return revived + self.db.execute(
            """UPDATE medimaging_router.items SET state = 'pending', attempts = 0, rejections = 0,
                 next_attempt_at = now(), updated_at = now()
               WHERE state = 'dead' AND (%s::text IS NULL OR destination = %s)""", (destination, destination))

    def release_destination(self, destination):
        """After a destination recovered: its backlog is due now (no item waits out an old backoff)."""
        return self.db.execute(
            "UPDATE medimaging_router.items SET next_attempt_at = now() "
            "WHERE destination = %s AND state = 'pending' AND next_attempt_at > now() AND rejections = 0",
            (destination,))

    # ---- observation ----
    def stats(self):
        """{destination: {state: count, 'oldest_pending_seconds': s, 'bytes_sent': b, 'last_error': text}}."""
        out = {}
        rows = self.db.execute(
            """SELECT destination, state, count(*), sum(bytes_sent),
                      extract(epoch FROM now() - min(enqueued_at) FILTER (WHERE state IN ('pending', 'inflight')))
               FROM medimaging_router.items GROUP BY destination, state""", fetch="all")
        for destination, state, count, sent, oldest in rows:
            entry = out.setdefault(destination, {"pending": 0, "inflight": 0, "done": 0, "dead": 0, "dead_instances": 0,
                                                 "oldest_pending_seconds": 0.0, "bytes_sent": 0, "last_error": None})
            entry[state] = count
            entry["bytes_sent"] += int(sent or 0)
            if oldest is not None:
                entry["oldest_pending_seconds"] = max(entry["oldest_pending_seconds"], float(oldest))
        for destination, count in self.db.execute(
                "SELECT destination, count(*) FROM medimaging_router.dead_instances GROUP BY destination", fetch="all"):
            if destination in out:
                out[destination]["dead_instances"] = count
        for destination, error in self.db.execute(
                """SELECT DISTINCT ON (destination) destination, last_error FROM medimaging_router.items
                   WHERE last_error IS NOT NULL ORDER BY destination, updated_at DESC""", fetch="all"):
            if destination in out:
                out[destination]["last_error"] = error
        return out

    def dead_letters(self, limit=100):
        rows = self.db.execute(
            """SELECT destination, study_uid, attempts, last_error, updated_at FROM medimaging_router.items
               WHERE state = 'dead' ORDER BY updated_at DESC LIMIT %s""", (limit,), fetch="all")
        return [{"destination": d, "study_uid": u, "attempts": a, "reason": e, "since": t.isoformat()}
                for d, u, a, e, t in rows]

    def dead_instance_letters(self, limit=100):
        rows = self.db.execute(
            """SELECT destination, study_uid, sop_uid, failure_code, reason, since FROM medimaging_router.dead_instances
               ORDER BY since DESC LIMIT %s""", (limit,), fetch="all")
        return [{"destination": d, "study_uid": u, "sop_instance_uid": s, "failure_code": c, "reason": r,
                 "since": t.isoformat()} for d, u, s, c, r, t in rows]
