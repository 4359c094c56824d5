"""medimaging_plugin.pg without a server: psycopg-style placeholders to $n, parameter texts (array literals
with hostile elements), result conversion from text, and queue.Database over a fake connection."""
from datetime import date, datetime, timedelta, timezone

import pytest

from medimaging_plugin import pg
from medimaging_plugin.priors.gate import PostgresGate
from medimaging_plugin.router.queue import COLUMNS, Database, Item, RouterQueue


@pytest.mark.parametrize("sql, expected, count", [
    ("SELECT 1", "SELECT 1", 0),
    ("SELECT %s", "SELECT $1", 1),
    ("UPDATE t SET a = %s WHERE id = %s AND b = %s", "UPDATE t SET a = $1 WHERE id = $2 AND b = $3", 3),
    ("SELECT 'a%%b' LIKE %s", "SELECT 'a%b' LIKE $1", 1),   # %% is a literal %, in literals too (as psycopg)
    ("SELECT 100 %% 7, %s%%", "SELECT 100 % 7, $1%", 1),
    ("SELECT %s%s", "SELECT $1$2", 2),
    ("%%%s%%", "%$1%", 1),
    ("", "", 0),
])
def test_placeholders(sql, expected, count):
    assert pg.convert_placeholders(sql) == (expected, count)


@pytest.mark.parametrize("sql", ["SELECT %d", "SELECT %(name)s", "SELECT 50%", "SELECT '%'"])
def test_other_percent_forms_are_refused(sql):
    with pytest.raises(pg.ProgrammingError):
        pg.convert_placeholders(sql)


class RecordingDb:
    """Stands for queue.Database: records (sql, args) and answers one plausible row."""

    def __init__(self):
        self.calls = []

    def execute(self, sql, args=(), fetch=None):
        self.calls.append((sql, tuple(args)))
        return {"one": (1,) * len(COLUMNS), "all": []}.get(fetch, 1)


def test_every_queue_and_gate_statement_has_one_argument_per_placeholder():
    db = RecordingDb()
    queue = RouterQueue(db)
    item = Item(*([1] * len(COLUMNS)))
    for call in (lambda: queue.note_arrival("s"), lambda: queue.forget_arrival("s"),
                 lambda: queue.note_arrival_if_unknown("s"), queue.change_cursor, lambda: queue.set_change_cursor(3),
                 lambda: queue.orphaned_arrivals(5), lambda: queue.enqueue("s", "1.2", "cloud", 3),
                 lambda: queue.claim("w", 30, ["a", "b"]), lambda: queue.extend(item, 30),
                 lambda: queue.complete(item, 1, 2), lambda: queue.fail(item, 1, "e"),
                 lambda: queue.dead_letter(item, "r"), lambda: queue.retry_dead_letters("cloud"),
                 lambda: queue.release_destination("cloud"), queue.stats, lambda: queue.dead_letters(3),
                 lambda: PostgresGate(db, 60).claim("PAT"), lambda: queue.retry_dead_letters(None),
                 lambda: queue.dead_letter_instances(item, [("1.2.3", 43264, "r"), ("1.2.4", None, "r")]),
                 lambda: queue.dead_instance_letters(5)):
        call()
    assert len(db.calls) == 25
    for sql, args in db.calls:
        converted, count = pg.convert_placeholders(sql)
        assert count == len(args), sql
        assert "%" not in converted, sql
        for value in args:
            pg.adapt(value)  # every argument type the callers pass is supported


@pytest.mark.parametrize("value, text", [
    (None, None),
    (True, "t"),
    (False, "f"),
    (0, "0"),
    (-42, "-42"),
    (2 ** 70, "1180591620717411303424"),
    (0.5, "0.5"),
    (1e-7, "1e-07"),
    (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"),
    (float("nan"), "NaN"),
    ("", ""),
    ("O'Brien \\ \"x\" é", "O'Brien \\ \"x\" é"),  # a parameter is not SQL: no quoting at all
])
def test_adapt_scalars(value, text):
    assert pg.adapt(value) == text


@pytest.mark.parametrize("value, text", [
    ([], "{}"),
    ((), "{}"),
    (["cloud"], '{"cloud"}'),
    (["a", "b"], '{"a","b"}'),
    (["a,b", "{c}", " d "], '{"a,b","{c}"," d "}'),
    (['say "hi"'], '{"say \\"hi\\""}'),
    (["back\\slash", "\\"], '{"back\\\\slash","\\\\"}'),
    (["", "NULL", None], '{"","NULL",NULL}'),  # the string NULL stays a string; None is SQL NULL
    (["it's"], '{"it\'s"}'),
    ([1, True], '{"1","t"}'),
])
def test_adapt_arrays(value, text):
    assert pg.adapt(value) == text


@pytest.mark.parametrize("value", [b"bytes", {"a": 1}, object(), [["nested"]], [b"x"]])
def test_adapt_refuses_other_types(value):
    with pytest.raises(TypeError):
        pg.adapt(value)


@pytest.mark.parametrize("type_oid, text, value", [
    (pg.BOOL, "t", True),
    (pg.BOOL, "f", False),
    (pg.INT2, "-3", -3),
    (pg.INT4, "2147483647", 2147483647),
    (pg.INT8, "9223372036854775807", 9223372036854775807),
    (pg.OID, "16384", 16384),
    (pg.FLOAT8, "0.25", 0.25),
    (pg.FLOAT4, "-Infinity", float("-inf")),
    (pg.NUMERIC, "123456789012345678901234567890", 123456789012345678901234567890),  # exact, an int
    (pg.NUMERIC, "-7", -7),
    (pg.NUMERIC, "12.5", 12.5),
    (pg.TEXT, "x", "x"),
    (pg.VARCHAR, "", ""),
    (pg.NAME, "pg_catalog", "pg_catalog"),
    (pg.TIMESTAMPTZ, "2024-05-01 12:34:56.123+02",
     datetime(2024, 5, 1, 12, 34, 56, 123000, tzinfo=timezone(timedelta(hours=2)))),
    (pg.TIMESTAMPTZ, "2024-05-01 12:34:56+05:30",
     datetime(2024, 5, 1, 12, 34, 56, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
    (pg.TIMESTAMP, "2024-05-01 00:00:00", datetime(2024, 5, 1)),
    (pg.TIMESTAMPTZ, "infinity", "infinity"),  # not representable: stays text
    (pg.DATE, "2024-02-29", date(2024, 2, 29)),
    (1186, "01:00:00", "01:00:00"),  # interval, and any other type: text
    (1009, '{a,"b c"}', '{a,"b c"}'),
])
def test_convert(type_oid, text, value):
    assert pg.convert(type_oid, text) == value


def test_numeric_nan_is_a_float():
    assert pg.convert(pg.NUMERIC, "NaN") != pg.convert(pg.NUMERIC, "NaN")


def test_scrub_hides_secrets():
    assert pg._scrub('failed for "bob" with pw hunter2', ["hunter2", None, ""]) == 'failed for "bob" with pw ***'


# ---- queue.Database over a fake pg connection ----

class FakeConnection:
    def __init__(self, results):
        self.results = list(results)
        self.calls = []
        self.closed = False

    def execute(self, sql, args=()):
        self.calls.append((sql, tuple(args)))
        outcome = self.results.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def close(self):
        self.closed = True


def _database(*connections):
    made, pool = [], list(connections)

    def connect(conninfo, **params):
        made.append((conninfo, params))
        return pool.pop(0)

    return Database({"host": "db", "password": "pw", "conninfo": ""}, connect=connect), made


def test_database_fetch_modes():
    conn = FakeConnection([pg.Result([(1, "a"), (2, "b")], 2), pg.Result([], 0), pg.Result([(1, "a")], 1),
                           pg.Result([], 3)])
    db, made = _database(conn)
    assert db.execute("SELECT %s", (1,), fetch="all") == [(1, "a"), (2, "b")]
    assert db.execute("SELECT 1 WHERE false", fetch="one") is None
    assert db.execute("SELECT 1", fetch="one") == (1, "a")
    assert db.execute("UPDATE t SET x = 1") == 3
    assert made == [("", {"host": "db", "password": "pw", "connect_timeout": 5})]  # one connection, reused


def test_database_drops_the_connection_after_an_error():
    broken = FakeConnection([pg.DatabaseError("duplicate key", "23505")])
    fresh = FakeConnection([pg.Result([], 1)])
    db, made = _database(broken, fresh)
    with pytest.raises(pg.DatabaseError) as caught:
        db.execute("INSERT ...")
    assert caught.value.sqlstate == "23505" and broken.closed
    assert db.execute("INSERT ...") == 1 and len(made) == 2


def test_database_reconnects_when_the_connection_reports_closed():
    first, second = FakeConnection([pg.Result([], 1)]), FakeConnection([pg.Result([], 1)])
    db, made = _database(first, second)
    db.execute("SELECT 1")
    first.closed = True  # libpq says CONNECTION_BAD (server restarted)
    db.execute("SELECT 1")
    assert len(made) == 2 and second.calls


def test_connect_timeout_is_not_forced_over_the_configured_one():
    db, made = _database(FakeConnection([pg.Result([], 0)]))
    db.params["connect_timeout"] = 30
    db.execute("SELECT 1")
    assert made[0][1]["connect_timeout"] == 30


def test_missing_libpq_names_the_debian_package(monkeypatch):
    def refuse(name):
        raise OSError("%s: cannot open shared object file" % name)

    monkeypatch.setattr(pg.ctypes, "CDLL", refuse)
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    with pytest.raises(pg.InterfaceError) as caught:
        pg._open_libpq()
    assert "libpq5" in str(caught.value) and "libpq.so.5" in str(caught.value)


def test_libpq_found_by_name_when_the_soname_is_not_on_the_path(monkeypatch):
    opened = []

    def cdll(name):
        if name == "libpq.so.5":
            raise OSError("not found")
        opened.append(name)
        return "lib"

    monkeypatch.setattr(pg.ctypes, "CDLL", cdll)
    monkeypatch.setattr("ctypes.util.find_library", lambda name: "/opt/pgsql/lib/libpq.so.5.16")
    assert pg._open_libpq() == "lib" and opened == ["/opt/pgsql/lib/libpq.so.5.16"]
