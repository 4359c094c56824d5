"""medimaging_plugin.database (psycopg2 over the system libpq) against a real PostgreSQL on 127.0.0.1: typed
results, placeholders, multi-statement DDL, transactions (a swallowed error never commits), a lost connection
replaced, a password never in an error, and two threads each on its own connection at once."""
import threading
import time
from datetime import datetime

import psycopg2
import pytest

from medimaging_plugin.database import Database, TransactionAborted


def _params(db, **extra):
    return dict({"host": db["host"], "port": db["port"], "dbname": db["database"], "user": db["user"],
                 "password": db["password"]}, **extra)


@pytest.fixture
def db(pg_database):
    database = Database(_params(pg_database))
    yield database
    database.close()


def test_typed_results_and_placeholders(db):
    row = db.execute("SELECT 1::int, 2::bigint, 3::numeric, 2.5::numeric, 'x'::text, true, now(), NULL, "
                     "'50%%'::text WHERE %s = %s", ("a", "a"), fetch="one")
    assert row[:6] == (1, 2, 3, 2.5, "x", True)
    assert isinstance(row[2], int) and isinstance(row[6], datetime) and row[6].tzinfo is not None
    assert row[7] is None and row[8] == "50%"
    assert db.execute("SELECT %s = ANY(%s)", ("b", ["a", "b", "c,d"]), fetch="one") == (True,)
    assert db.execute("SELECT 1 WHERE false", fetch="one") is None


def test_ddl_without_arguments_runs_several_statements_and_rowcounts(db):
    db.execute("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');")
    assert db.execute("UPDATE t SET v = 'z'") == 2
    assert db.execute("SELECT id, v FROM t ORDER BY id", fetch="all") == [(1, "z"), (2, "z")]


def test_transaction_commits_or_rolls_back(db):
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    with db.transaction():
        db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("INSERT INTO t VALUES (2)")
            raise RuntimeError("the block fails")
    assert db.execute("SELECT id FROM t", fetch="all") == [(1,)]


def test_a_swallowed_error_is_not_committed(db):
    db.execute("CREATE TABLE t (id int PRIMARY KEY)")
    with pytest.raises(TransactionAborted):
        with db.transaction():
            db.execute("INSERT INTO t VALUES (1)")
            try:
                db.execute("INSERT INTO t VALUES (1)")  # duplicate key: the transaction is now aborted
            except psycopg2.IntegrityError:
                pass
    assert db.execute("SELECT count(*) FROM t", fetch="one") == (0,)
    assert db.execute("SELECT 1", fetch="one") == (1,)  # the connection is usable again


def test_nested_transactions_are_refused(db):
    with db.transaction():
        with pytest.raises(RuntimeError, match="no nesting"):
            with db.transaction():
                pass


def test_a_killed_backend_is_replaced_on_the_next_call(db, pg_database):
    pid = db.execute("SELECT pg_backend_pid()", fetch="one")[0]
    killer = Database(_params(pg_database))
    try:
        # with a timeout, PostgreSQL (14+) answers once the backend has exited, not when the signal is sent:
        # a fixed pause was a race on a loaded machine (the next call could still reach the live backend)
        assert killer.execute("SELECT pg_terminate_backend(%s, 60000)", (pid,), fetch="one") == (True,)
    finally:
        killer.close()
    with pytest.raises(psycopg2.OperationalError):
        db.execute("SELECT 1")
    assert db.execute("SELECT pg_backend_pid()", fetch="one")[0] != pid


def test_the_password_never_appears_in_a_connection_error(pg_database):
    secret = "S3cret-" + pg_database["password"]
    for params in (_params(pg_database, password=secret),
                   {"conninfo": "postgresql://%s:%s@%s:%s/%s" % (pg_database["user"], secret, pg_database["host"],
                                                                pg_database["port"], pg_database["database"])}):
        with pytest.raises(psycopg2.OperationalError) as failure:
            Database(params).execute("SELECT 1")
        assert secret not in str(failure.value)
        assert "password authentication failed" in str(failure.value)


def test_two_threads_work_at_once_on_their_own_connections(db):
    db.execute("CREATE TABLE c (worker text, n int)")
    errors, spans, ready = [], {}, threading.Barrier(2)

    def work(name):
        try:
            ready.wait(10)
            begin = time.monotonic()
            db.execute("SELECT pg_sleep(1)")
            spans[name] = (begin, time.monotonic())
            for n in range(100):
                db.execute("INSERT INTO c VALUES (%s, %s)", (name, n))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=work, args=("w%d" % i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # The two sleeps overlapped: a client holding the GIL while it waits would have run them one after the other.
    assert max(begin for begin, _ in spans.values()) < min(end for _, end in spans.values())
    assert db.execute("SELECT worker, count(DISTINCT n) FROM c GROUP BY worker ORDER BY 1", fetch="all") \
        == [("w0", 100), ("w1", 100)]


def test_fresh_threads_reuse_one_server_session(pg_database):
    """orthanc-python gives each callback a fresh thread state: statements and transactions from new threads must
    share the pooled connection, counted at the server (pg_stat_activity), not open one session each."""
    db = Database(_params(pg_database, application_name="pool-reuse-test"))
    pids = []

    def statement():
        pids.append(db.execute("SELECT pg_backend_pid()", fetch="one")[0])

    def transaction():
        with db.transaction():
            pids.append(db.execute("SELECT pg_backend_pid()", fetch="one")[0])

    try:
        for target in (statement, transaction) * 5:
            thread = threading.Thread(target=target)
            thread.start()
            thread.join(30)
        assert len(pids) == 10 and len(set(pids)) == 1
        observer = Database(_params(pg_database))
        try:
            sessions = observer.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                        ("pool-reuse-test",), fetch="one")[0]
        finally:
            observer.close()
        assert sessions == 1
    finally:
        db.close()
