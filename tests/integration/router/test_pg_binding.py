"""medimaging_plugin.pg (libpq through ctypes) against a real PostgreSQL on 127.0.0.1: logins, typed
results, text[] parameters, transactions, multi-statement DDL, errors and lost connections, and two threads
working at once (ctypes releases the GIL inside libpq)."""
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from router_harness import PLUGIN_DIR

if PLUGIN_DIR not in sys.path:
    sys.path.insert(0, PLUGIN_DIR)

from medimaging_plugin import pg  # noqa: E402
from medimaging_plugin.router.queue import Database  # noqa: E402


def _params(db, **extra):
    return dict({"host": db["host"], "port": db["port"], "dbname": db["database"], "user": db["user"],
                 "password": db["password"], "connect_timeout": 5}, **extra)


@pytest.fixture
def conn(pg_database):
    connection = pg.connect(**_params(pg_database))
    yield connection
    connection.close()


def test_connect_with_password_keywords_conninfo_and_uri(pg_database):
    db = pg_database
    with pg.connect(**_params(db, application_name="pg-binding-test")) as conn:
        assert conn.execute("SELECT current_user, current_setting('application_name')").rows == \
            [(db["user"], "pg-binding-test")]
        assert conn.execute("SHOW client_encoding").rows == [("UTF8",)]
    conninfo = "host=%(host)s port=%(port)s dbname=%(database)s user=%(user)s password='%(password)s'" % db
    with pg.connect(conninfo) as conn:
        assert conn.execute("SELECT current_database()").rows == [(db["database"],)]
    uri = "postgresql://%(user)s:%(password)s@%(host)s:%(port)s/%(database)s" % db
    with pg.connect(uri, application_name="override") as conn:  # keywords win over the URI
        assert conn.execute("SELECT current_setting('application_name')").rows == [("override",)]


def test_wrong_password_is_an_operational_error_without_the_password(pg_database):
    wrong = "Wr0ng-S3cret-" + pg_database["password"][:6]
    with pytest.raises(pg.OperationalError) as caught:
        pg.connect(**_params(pg_database, password=wrong))
    message = str(caught.value)
    assert "password authentication failed" in message and pg_database["user"] in message
    assert wrong not in message and pg_database["password"] not in message
    uri = "postgresql://%s:%s@%s:%s/%s" % (
        pg_database["user"], wrong, pg_database["host"], pg_database["port"], pg_database["database"])
    with pytest.raises(pg.OperationalError) as caught:
        pg.connect(uri)
    assert wrong not in str(caught.value)
    with pytest.raises(pg.OperationalError) as caught:  # malformed: libpq would quote a piece of it
        pg.connect("host=127.0.0.1 password %s" % wrong)
    assert wrong not in str(caught.value) and "invalid" in str(caught.value)


def test_nobody_listening_is_an_operational_error(pg_database):
    with pytest.raises(pg.OperationalError):
        pg.connect(**_params(pg_database, port=1))


def test_typed_results(conn):
    row = conn.execute(
        """SELECT 1::int2, 2::int4, 9000000000::int8, true, false, 'text'::text, 'v'::varchar, NULL::text,
                  NULL::int, 1.5::float8, 0.25::float4, 12.5::numeric, sum(x), 'pg_class'::regclass::oid > 0,
                  'Infinity'::float8, 'é 漢字'::text
           FROM (VALUES (9000000000::bigint), (1::bigint)) AS v(x)""").rows
    assert row == [(1, 2, 9000000000, True, False, "text", "v", None, None, 1.5, 0.25, 12.5, 9000000001, True,
                    float("inf"), "é 漢字")]
    assert all(type(v) is int for v in row[0][:3]) and type(row[0][12]) is int  # sum(bigint) is numeric
    epoch = conn.execute("SELECT extract(epoch FROM interval '1.5 seconds')").rows[0][0]
    assert epoch == 1.5


def test_timestamps_are_aware_datetimes_whatever_the_session_settings(pg_database):
    # A server configured with another DateStyle and TimeZone: connect() switches DateStyle to ISO.
    with pg.connect(**_params(pg_database, options="-c DateStyle=German -c TimeZone=Asia/Kolkata")) as conn:
        assert conn.execute("SHOW DateStyle").rows[0][0].startswith("ISO")
        stamp = conn.execute("SELECT %s::timestamptz", ("2024-05-01T12:00:00.250+02:00",)).rows[0][0]
        assert stamp == datetime(2024, 5, 1, 10, 0, 0, 250000, tzinfo=timezone.utc)
        assert stamp.utcoffset() == timedelta(hours=5, minutes=30)
        now = conn.execute("SELECT now()").rows[0][0]
        assert abs(now - datetime.now(timezone.utc)) < timedelta(minutes=5)
        assert conn.execute("SELECT '2024-05-01 01:02:03'::timestamp, 'infinity'::timestamptz").rows == \
            [(datetime(2024, 5, 1, 1, 2, 3), "infinity")]


HOSTILE = ["plain", "with,comma", "{braces}", "}", 'quote"d', "back\\slash", "\\", "trailing\\", "it's", "",
           "NULL", "null", " spaced ", "tab\tnew\nline", "é ü 漢字", "a\\\"b,{c}"]


def test_text_array_parameter_round_trip(conn):
    rows = conn.execute("SELECT x FROM unnest(%s::text[]) WITH ORDINALITY AS u(x, n) ORDER BY n",
                        (HOSTILE + [None],)).rows
    assert [r[0] for r in rows] == HOSTILE + [None]
    assert conn.execute("SELECT cardinality(%s::text[])", ((),)).rows == [(0,)]


def test_untyped_array_parameter_as_the_claim_uses_it(conn):
    """queue.claim writes `destination <> ALL(%s)` without a cast: the server infers text[]."""
    conn.execute("CREATE TABLE d (destination text)")
    conn.execute("INSERT INTO d VALUES ('cloud'), ('archive'), ('it''s \"x\"')")
    pick = "SELECT destination FROM d WHERE destination <> ALL(%s) ORDER BY destination"
    assert conn.execute(pick, ([],)).rowcount == 3
    assert conn.execute(pick, (["cloud", 'it\'s "x"'],)).rows == [("archive",)]


def test_scalar_parameters_in_the_shapes_the_queue_uses(conn):
    row = conn.execute("SELECT make_interval(secs => %s) = interval '1.5 seconds', make_interval(secs => %s), "
                       "%s::text IS NULL, %s || '!', %s::int + 1, %s::bool, %s = 't'",
                       (1.5, 30, None, "O'Brien; DROP TABLE x --", 41, True, False)).rows[0]
    assert row[0] is True and row[2] is True and row[3] == "O'Brien; DROP TABLE x --!"
    assert row[4] == 42 and row[5] is True and row[6] is False
    assert conn.execute("SELECT pg_advisory_xact_lock(%s)", (0x6D656469,)).rowcount == 1


def test_rowcount(conn):
    conn.execute("CREATE TABLE r (id int PRIMARY KEY, v text)")
    assert conn.execute("INSERT INTO r SELECT g, 'x' FROM generate_series(1, 3) g").rowcount == 3
    assert conn.execute("UPDATE r SET v = %s WHERE id > %s", ("y", 1)).rowcount == 2
    assert conn.execute("DELETE FROM r WHERE id = %s", (99,)).rowcount == 0
    assert conn.execute("SELECT * FROM r").rowcount == 3
    assert conn.execute("SET application_name = 'x'").rowcount == -1


def test_multi_statement_ddl_without_args(conn):
    conn.execute("""CREATE SCHEMA IF NOT EXISTS s1;
                    CREATE TABLE IF NOT EXISTS s1.a (x int);
                    INSERT INTO s1.a VALUES (1), (2);""")
    assert conn.execute("SELECT count(*) FROM s1.a").rows == [(2,)]
    with pytest.raises(pg.DatabaseError) as caught:  # with parameters libpq allows one statement only
        conn.execute("SELECT %s; SELECT 2", (1,))
    assert caught.value.sqlstate == "42601"


def test_notices_go_to_logging_not_stderr(conn, capfd, caplog):
    caplog.set_level("DEBUG", logger="medimaging.pg")
    conn.execute("CREATE SCHEMA IF NOT EXISTS n1")
    conn.execute("CREATE SCHEMA IF NOT EXISTS n1")  # NOTICE: schema "n1" already exists, skipping
    assert "already exists" not in capfd.readouterr().err
    assert any("already exists" in r.getMessage() for r in caplog.records)


def test_transaction_commit_and_rollback(pg_database, conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    with pg.connect(**_params(pg_database)) as other:
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (%s)", (1,))
            assert other.execute("SELECT count(*) FROM t").rows == [(0,)]  # not committed yet
        assert other.execute("SELECT count(*) FROM t").rows == [(1,)]
        with pytest.raises(RuntimeError):
            with conn.transaction():
                conn.execute("INSERT INTO t VALUES (%s)", (2,))
                raise RuntimeError("boom")
        assert other.execute("SELECT id FROM t ORDER BY id").rows == [(1,)]
    assert conn.transaction_status() == pg.PQTRANS_IDLE


def test_transaction_with_a_swallowed_error_does_not_pretend_to_commit(conn):
    conn.execute("CREATE TABLE t (id int PRIMARY KEY)")
    with pytest.raises(pg.DatabaseError) as caught:
        with conn.transaction():
            conn.execute("INSERT INTO t VALUES (1)")
            with pytest.raises(pg.DatabaseError):
                conn.execute("INSERT INTO t VALUES (1)")
    assert caught.value.sqlstate == "25P02"
    assert conn.execute("SELECT count(*) FROM t").rows == [(0,)] and not conn.closed
    with conn.transaction():
        with pytest.raises(pg.InterfaceError):  # nesting would commit the outer one early
            with conn.transaction():
                pass


def test_statement_errors_keep_the_connection_usable(conn):
    conn.execute("CREATE TABLE u (id int PRIMARY KEY)")
    conn.execute("INSERT INTO u VALUES (1)")
    with pytest.raises(pg.DatabaseError) as caught:
        conn.execute("INSERT INTO u VALUES (%s)", (1,))
    assert caught.value.sqlstate == "23505" and "duplicate key" in str(caught.value)
    assert not isinstance(caught.value, pg.OperationalError)
    with pytest.raises(pg.DatabaseError) as caught:
        conn.execute("SELECT 1 / 0")
    assert caught.value.sqlstate == "22012"
    assert not conn.closed and conn.execute("SELECT 1").rows == [(1,)]
    with pytest.raises(pg.ProgrammingError):
        conn.execute("SELECT %s, %s", (1,))
    with pytest.raises(ValueError):
        conn.execute("SELECT %s", ("nul\x00byte",))
    assert conn.execute("SELECT 2").rows == [(2,)]


def test_a_killed_backend_reports_closed_and_database_reconnects(pg_database):
    db = Database(_params(pg_database))
    try:
        pid = db.execute("SELECT pg_backend_pid()", fetch="one")[0]
        with pg.connect(**_params(pg_database)) as killer:
            assert killer.execute("SELECT pg_terminate_backend(%s)", (pid,)).rows == [(True,)]
        time.sleep(0.2)
        conn = db.connection()
        with pytest.raises(pg.OperationalError):
            conn.execute("SELECT 1")
        assert conn.closed
        assert db.execute("SELECT pg_backend_pid()", fetch="one")[0] != pid  # a new connection
    finally:
        db.close()


def test_close_is_idempotent(pg_database):
    conn = pg.connect(**_params(pg_database))
    conn.close()
    conn.close()
    assert conn.closed
    with pytest.raises(pg.InterfaceError):
        conn.execute("SELECT 1")


def test_two_threads_two_connections_at_once(pg_database):
    with pg.connect(**_params(pg_database)) as setup:
        setup.execute("CREATE TABLE c (worker text, n int)")
    errors, spans, ready = [], {}, threading.Barrier(2)

    def work(name):
        try:
            with pg.connect(**_params(pg_database)) as conn:
                ready.wait(10)
                begin = time.monotonic()
                conn.execute("SELECT pg_sleep(1)")
                spans[name] = (begin, time.monotonic())
                for n in range(200):
                    conn.execute("INSERT INTO c VALUES (%s, %s)", (name, n))
                    assert conn.execute("SELECT count(*) FROM c WHERE worker = %s", (name,)).rows == [(n + 1,)]
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=("w%d" % i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    # The two sleeps overlapped: a libpq call holding the GIL would have run them one after the other.
    assert max(begin for begin, _ in spans.values()) < min(end for _, end in spans.values())
    with pg.connect(**_params(pg_database)) as check:
        assert check.execute("SELECT worker, count(*), count(DISTINCT n) FROM c GROUP BY worker ORDER BY 1").rows \
            == [("w0", 200, 200), ("w1", 200, 200)]
