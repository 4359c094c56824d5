"""The plugin's PostgreSQL access (the router's queue, the priors gate), on Debian's python3-psycopg2.

psycopg2 is a maintained C binding to the system's libpq (the one Orthanc's PostgreSQL index plugin already maps,
updated by Debian). Measured inside Orthanc (bench/pg_client_rss.py): about +4 MiB of RSS on import, where psycopg 3
costs +13 to +21 MiB. It is imported lazily, only once a feature needs the database.

    db = Database({"host": ..., "port": 5432, "dbname": ..., "user": ..., "password": ...})   # libpq keywords
    db.execute("SELECT state FROM t WHERE id = %s", (7,), fetch="all")                         # [("done",)]
    with db.transaction():                                                                      # BEGIN/COMMIT
        db.execute("...")

Placeholders are psycopg2's: `%s`, and `%%` for a literal `%` when arguments are given. Without arguments the SQL
is sent as is, so several statements may run at once (schema DDL). Results: integral numerics are ints, other
numerics floats (callers do arithmetic on sums and epochs), timestamps timezone-aware datetimes.

Threads: a statement borrows a connection from a small pool shared by all threads and gives it back when it ends
(a libpq connection is not for concurrent use, so never two threads on one at a time); transaction() keeps one
connection for the whole block on its thread. Connections are in autocommit outside transaction() and dropped
after any error (the next call opens a fresh one). The pool keeps at most `pool_size` idle connections; it does not
cap the open ones (each busy thread still has its own, as before). Shared rather than per thread because
orthanc-python gives every callback from one of Orthanc's threads a fresh Python thread state: a
threading.local() connection was a new PostgreSQL session per REST call. psycopg2 releases the GIL while it waits
on the server.
"""

import collections
import threading

_NUMERIC_OIDS = (1700,)


class TransactionAborted(Exception):
    """A statement failed inside transaction() and the block swallowed the error: nothing was committed."""


def _psycopg2():
    try:
        import psycopg2  # pylint: disable=import-outside-toplevel  # lazily: only features with a database load it
        import psycopg2.extensions  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise ImportError("the plugin's PostgreSQL client is missing (%s): install the Debian package "
                          "python3-psycopg2 for the Python that orthanc-python embeds" % exc) from None
    if not getattr(psycopg2, "_medimaging_numeric", False):
        # numeric -> int when integral, else float (keeps the decimal module out of Orthanc's memory).
        numeric = psycopg2.extensions.new_type(
            _NUMERIC_OIDS, "MEDIMAGING_NUMERIC",
            lambda text, _cur: None if text is None else (int(text) if text.lstrip("-").isdigit() else float(text)))
        psycopg2.extensions.register_type(numeric)
        psycopg2._medimaging_numeric = True  # pylint: disable=protected-access
    return psycopg2


def _scrub(message, secrets):
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


class Database:
    """Connection parameters are libpq keywords (host, port, dbname, user, password, sslmode, connect_timeout,
    application_name), or {"conninfo": "postgresql://..."} (keywords given beside it override it)."""

    def __init__(self, params, pool_size=4):
        self.params = dict(params)
        self.pool_size = pool_size
        self._idle = collections.deque()  # most recently used last
        self._lock = threading.Lock()
        self._local = threading.local()  # .conn: the connection an open transaction() holds on this thread

    def _new(self):
        params = dict(self.params)
        conninfo = params.pop("conninfo", "")
        params.setdefault("connect_timeout", 5)
        params = {key: value for key, value in params.items() if value is not None}
        psycopg2 = _psycopg2()
        try:
            conn = psycopg2.connect(conninfo, **params)
        except psycopg2.Error as exc:
            # libpq's message may echo a conninfo string: never let the password reach a log.
            secrets = [str(params.get("password") or "")]
            if conninfo:
                secrets.append(psycopg2.extensions.parse_dsn(conninfo).get("password", ""))
            raise psycopg2.OperationalError(_scrub(str(exc).strip(), secrets)) from None
        conn.autocommit = True
        conn.set_client_encoding("UTF8")
        return conn

    def _borrow(self):
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self._new()
            if not conn.closed:
                return conn

    def _give_back(self, conn):
        """Keep a healthy idle connection for the next statement (any thread); close it otherwise."""
        idle = not conn.closed and conn.get_transaction_status() == _psycopg2().extensions.TRANSACTION_STATUS_IDLE
        if idle:
            with self._lock:
                if len(self._idle) < self.pool_size:
                    self._idle.append(conn)
                    return
        _close_quietly(conn)

    def execute(self, sql, args=(), fetch=None):
        """Run SQL (several statements at once only without args); fetch None | 'one' | 'all' returns
        the rowcount | the first row or None | all rows. On any error the connection is dropped (the
        next call reconnects) unless a transaction() is open (it rolls back), and the error is raised."""
        pinned = getattr(self._local, "conn", None)
        if pinned is not None:
            rows, rowcount = _run(pinned, sql, args)
        else:
            conn = self._borrow()
            try:
                rows, rowcount = _run(conn, sql, args)
            except Exception:
                _close_quietly(conn)
                raise
            self._give_back(conn)
        if fetch == "one":
            return rows[0] if rows else None
        if fetch == "all":
            return rows
        return rowcount

    def transaction(self):
        """BEGIN ... COMMIT on one connection held by this thread for the block; ROLLBACK when the block raises. A
        block that swallowed a failed statement's error gets TransactionAborted instead of a COMMIT that would
        silently roll back."""
        return _Transaction(self)

    def close(self):
        """Close the idle connections (one in use by another thread is closed when given back after close())."""
        with self._lock:
            conns, self._idle = list(self._idle), collections.deque()
        for conn in conns:
            _close_quietly(conn)


def _run(conn, sql, args):
    with conn.cursor() as cursor:
        cursor.execute(sql, tuple(args) if args else None)
        rows = [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []
        return rows, cursor.rowcount


def _close_quietly(conn):
    try:
        conn.close()
    except Exception:  # pylint: disable=broad-except  # already broken: nothing more to do
        pass


class _Transaction:
    def __init__(self, db):
        self.db = db

    def __enter__(self):
        local = self.db._local  # pylint: disable=protected-access
        if getattr(local, "conn", None) is not None:
            raise RuntimeError("a transaction is already open on this thread's connection (no nesting)")
        conn = self.db._borrow()  # pylint: disable=protected-access
        try:
            _run(conn, "BEGIN", ())
        except Exception:
            _close_quietly(conn)
            raise
        local.conn = conn
        return self.db

    def __exit__(self, exc_type, exc, tb):
        db = self.db
        conn, db._local.conn = db._local.conn, None  # pylint: disable=protected-access
        try:
            if exc_type is not None:
                if not conn.closed:
                    _run(conn, "ROLLBACK", ())
                return False  # the block's own exception goes on
            if conn.get_transaction_status() == _psycopg2().extensions.TRANSACTION_STATUS_INERROR:
                _run(conn, "ROLLBACK", ())
                raise TransactionAborted("the transaction was aborted by an earlier error and has been rolled back")
            _run(conn, "COMMIT", ())
            return False
        except TransactionAborted:
            raise
        except Exception:
            _close_quietly(conn)  # state unknown: never reuse it
            if exc_type is not None:
                return False  # the block's own exception matters more than the failed ROLLBACK
            raise
        finally:
            db._give_back(conn)  # pylint: disable=protected-access  # closed or not idle: dropped there
