"""A small PostgreSQL client for the plugin: Debian's libpq (package libpq5) bound with ctypes.

Why it exists: the router's queue and the priors gate run a handful of SQL statements, and every
module the plugin imports stays resident in Orthanc. psycopg 3 cost 12.5 to 16 MiB of RSS there (its
import graph, and the binary wheel's own copies of libpq, OpenSSL and krb5); pg8000 costs about the same.
Debian's libpq.so.5 is already mapped in Orthanc by the PostgreSQL index plugin, and it gets Debian's
security updates. So this module binds the few libpq calls the plugin needs, and nothing more.

    conn = connect(host=..., port=5432, dbname=..., user=..., password=...)   # libpq keywords
    conn.execute("SELECT state FROM t WHERE id = %s", (7,)).rows              # [("done",)]
    with conn.transaction():                                                   # BEGIN / COMMIT / ROLLBACK
        conn.execute("...")

Placeholders are psycopg's: `%s`, and `%%` for a literal `%` (everywhere in the SQL, string literals
included, as psycopg does: the callers' SQL was written for it). They become $1..$n and the values travel
as text parameters (PQexecParams), never spliced into the SQL. Without arguments the SQL is sent as is
(PQexec): several statements may then be run at once (schema DDL).

Threads: one Connection per thread (a libpq connection is not for concurrent use). ctypes releases the GIL
during every libpq call, so a thread waiting on the database does not hold up the others.
"""

import ctypes
import logging
import threading

LOG = logging.getLogger("medimaging.pg")

# libpq enums (libpq-fe.h)
CONNECTION_OK = 0
PGRES_EMPTY_QUERY, PGRES_COMMAND_OK, PGRES_TUPLES_OK = 0, 1, 2
PGRES_COPY_OUT, PGRES_COPY_IN, PGRES_COPY_BOTH = 3, 4, 8
PQTRANS_IDLE, PQTRANS_INERROR = 0, 3
PG_DIAG_SQLSTATE, PG_DIAG_MESSAGE_PRIMARY = ord("C"), ord("M")

# Result types by OID (pg_type), for the text format.
BOOL, INT8, INT2, INT4, TEXT, OID, FLOAT4, FLOAT8 = 16, 20, 21, 23, 25, 26, 700, 701
NAME, VARCHAR, DATE, TIMESTAMP, TIMESTAMPTZ, NUMERIC = 19, 1043, 1082, 1114, 1184, 1700


class Error(Exception):
    """Base of this module's errors."""


class InterfaceError(Error):
    """libpq missing, a closed connection, or an unsupported use (COPY, nested transactions)."""


class ProgrammingError(Error):
    """Placeholders and arguments do not match."""


class DatabaseError(Error):
    """The server refused a statement; .sqlstate is its SQLSTATE code (None when unknown)."""

    def __init__(self, message, sqlstate=None):
        super().__init__(message)
        self.sqlstate = sqlstate


class OperationalError(DatabaseError):
    """Cannot connect, or the connection was lost."""


# ---- the library ----------------------------------------------------------------------------------------

class _ConninfoOption(ctypes.Structure):
    _fields_ = [("keyword", ctypes.c_char_p), ("envvar", ctypes.c_char_p), ("compiled", ctypes.c_char_p),
                ("val", ctypes.c_char_p), ("label", ctypes.c_char_p), ("dispchar", ctypes.c_char_p),
                ("dispsize", ctypes.c_int)]


_P, _S, _I, _OID = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_uint
_STRINGS = ctypes.POINTER(ctypes.c_char_p)
_NOTICE = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_char_p)
# Every function used, with its C signature: pointers are c_void_p (a default int return would truncate them).
_SIGNATURES = {
    "PQconnectdbParams": (_P, [_STRINGS, _STRINGS, _I]),
    "PQconninfoParse": (_P, [_S, _P]),
    "PQconninfoFree": (None, [_P]),
    "PQstatus": (_I, [_P]),
    "PQerrorMessage": (_S, [_P]),
    "PQparameterStatus": (_S, [_P, _S]),
    "PQtransactionStatus": (_I, [_P]),
    "PQsetNoticeProcessor": (_P, [_P, _NOTICE, _P]),
    "PQfinish": (None, [_P]),
    "PQexec": (_P, [_P, _S]),
    "PQexecParams": (_P, [_P, _S, _I, ctypes.POINTER(_OID), _STRINGS, ctypes.POINTER(_I), ctypes.POINTER(_I), _I]),
    "PQresultStatus": (_I, [_P]),
    "PQresultErrorField": (_S, [_P, _I]),
    "PQresultErrorMessage": (_S, [_P]),
    "PQntuples": (_I, [_P]),
    "PQnfields": (_I, [_P]),
    "PQftype": (_OID, [_P, _I]),
    "PQgetisnull": (_I, [_P, _I, _I]),
    "PQgetvalue": (_P, [_P, _I, _I]),
    "PQgetlength": (_I, [_P, _I, _I]),
    "PQcmdTuples": (_S, [_P]),
    "PQclear": (None, [_P]),
}
_LIB = None
_LIB_LOCK = threading.Lock()


def _log_notice(_arg, message):
    # libpq would print NOTICE/WARNING messages on Orthanc's stderr ("schema ... already exists, skipping").
    try:
        text = (message or b"").decode("utf-8", "replace").strip()
        (LOG.warning if text.startswith("WARNING") else LOG.debug)("postgresql: %s", text)
    except Exception:  # pylint: disable=broad-except  # never raise through libpq
        pass


_ON_NOTICE = _NOTICE(_log_notice)  # module-level: the callback must outlive every connection


def _open_libpq():
    # The soname first: Debian's libpq5 ships it and Orthanc's PostgreSQL plugin has it mapped already.
    # ctypes.util.find_library("pq") only as a fallback: it runs `ldconfig -p` in a child process.
    try:
        return ctypes.CDLL("libpq.so.5")
    except OSError as exc:
        first = exc
    from ctypes.util import find_library  # pylint: disable=import-outside-toplevel
    name = find_library("pq")
    if name:
        try:
            return ctypes.CDLL(name)
        except OSError:
            pass
    raise InterfaceError("cannot load the PostgreSQL client library libpq.so.5: install the Debian package "
                         "libpq5 (%s)" % first)


def library():
    """The loaded libpq, with every function used declared (loaded on first use, once)."""
    global _LIB  # pylint: disable=global-statement
    with _LIB_LOCK:
        if _LIB is None:
            lib = _open_libpq()
            for name, (restype, argtypes) in _SIGNATURES.items():
                function = getattr(lib, name)
                function.restype, function.argtypes = restype, argtypes
            _LIB = lib
    return _LIB


# ---- values in and out ----------------------------------------------------------------------------------

def _encode(text, what):
    if "\x00" in text:
        raise ValueError("%s contains a NUL character, which PostgreSQL text cannot hold" % what)
    return text.encode("utf-8")


def _decode(raw):
    return (raw or b"").decode("utf-8", "replace").strip()


def convert_placeholders(sql):
    """psycopg-style SQL to libpq's: each `%s` becomes $1, $2, ...; `%%` becomes `%`; any other `%`
    is an error (as in psycopg). Returns (sql, number of placeholders)."""
    out, count, start = [], 0, 0
    while True:
        index = sql.find("%", start)
        if index < 0:
            out.append(sql[start:])
            return "".join(out), count
        out.append(sql[start:index])
        following = sql[index + 1:index + 2]
        if following == "s":
            count += 1
            out.append("$%d" % count)
        elif following == "%":
            out.append("%")
        else:
            raise ProgrammingError("only %%s placeholders and %%%% are supported: found %r at offset %d"
                                   % (sql[index:index + 2], index))
        start = index + 2


def _scalar(value):
    if isinstance(value, bool):  # before int: bool is an int
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:  # pylint: disable=comparison-with-itself  # NaN
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError("cannot pass a %s to PostgreSQL (None, bool, int, float, str, or a list of them)"
                    % type(value).__name__)


def _array_element(value):
    if value is None:
        return "NULL"
    if isinstance(value, (list, tuple)):
        raise TypeError("nested lists are not supported as PostgreSQL arrays")
    # Always double-quoted, so commas, braces, blanks, empty strings and the word NULL stay data.
    return '"' + _scalar(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def adapt(value):
    """A Python value as the text of a PostgreSQL parameter (None is SQL NULL). A list or tuple becomes a
    one-dimensional array literal: '{"a","b \\"c\\""}'."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return "{" + ",".join(_array_element(v) for v in value) + "}"
    return _scalar(value)


def _numeric(text):
    # Callers use int()/float() on sums and epochs: an integral numeric stays exact as int, the rest is float
    # (this keeps the decimal module out of Orthanc's memory).
    return int(text) if text.lstrip("-").isdigit() else float(text)


def _timestamp(text):
    # ISO DateStyle (ensured at connect); 'infinity', BC dates and years past 9999 stay text.
    from datetime import datetime  # pylint: disable=import-outside-toplevel
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return text


def _date(text):
    from datetime import date  # pylint: disable=import-outside-toplevel
    try:
        return date.fromisoformat(text)
    except ValueError:
        return text


_CONVERTERS = {BOOL: lambda text: text == "t", INT2: int, INT4: int, INT8: int, OID: int,
               FLOAT4: float, FLOAT8: float, NUMERIC: _numeric, TEXT: str, VARCHAR: str, NAME: str,
               TIMESTAMPTZ: _timestamp, TIMESTAMP: _timestamp, DATE: _date}


def convert(type_oid, text):
    """A result value from its text form; types without a converter stay text."""
    return _CONVERTERS.get(type_oid, str)(text)


# ---- connections ----------------------------------------------------------------------------------------

class Result:
    """rows: list of tuples (empty for commands); rowcount: rows affected or returned, -1 when unknown."""

    __slots__ = ("rows", "rowcount")

    def __init__(self, rows, rowcount):
        self.rows = rows
        self.rowcount = rowcount


def _scrub(message, secrets):
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def _conninfo_password(lib, conninfo):
    """The password inside a connection string or URI (to keep it out of messages); refuses a malformed
    string before libpq can quote a piece of it in an error."""
    options = lib.PQconninfoParse(_encode(conninfo, "the connection string"), None)
    if not options:
        raise OperationalError("invalid PostgreSQL connection string or URI (not shown: it may hold a password)")
    try:
        array = ctypes.cast(options, ctypes.POINTER(_ConninfoOption))
        index = 0
        while array[index].keyword is not None:
            if array[index].keyword == b"password" and array[index].val:
                return array[index].val.decode("utf-8", "replace")
            index += 1
        return None
    finally:
        lib.PQconninfoFree(options)


def connect(conninfo="", **params):
    """Open a connection. params are libpq keywords (host, port, dbname, user, password, sslmode,
    connect_timeout, application_name, ...); they override what a conninfo string or URI says.
    Raises OperationalError (the password never appears in its message)."""
    lib = library()
    secrets = [str(params["password"])] if params.get("password") else []
    keywords, values = [], []
    if conninfo:
        secrets.append(_conninfo_password(lib, conninfo))
        keywords.append("dbname")  # with expand_dbname=1 libpq reads it as the whole connection string
        values.append(conninfo)
    for key, value in params.items():
        if value is not None and key != "client_encoding":
            keywords.append(key)
            values.append(str(value))
    keywords.append("client_encoding")  # results are decoded as UTF-8
    values.append("UTF8")
    array = ctypes.c_char_p * (len(keywords) + 1)
    handle = lib.PQconnectdbParams(array(*[_encode(k, "a connection keyword") for k in keywords], None),
                                   array(*[_encode(v, "a connection parameter") for v in values], None),
                                   1 if conninfo else 0)
    if not handle:
        raise OperationalError("libpq could not allocate a connection (out of memory)")
    if lib.PQstatus(handle) != CONNECTION_OK:
        message = _decode(lib.PQerrorMessage(handle))
        lib.PQfinish(handle)
        raise OperationalError(_scrub(message or "connection failed", secrets))
    lib.PQsetNoticeProcessor(handle, _ON_NOTICE, None)
    conn = Connection(lib, handle)
    if not (lib.PQparameterStatus(handle, b"DateStyle") or b"").startswith(b"ISO"):
        conn.execute("SET DateStyle TO ISO")  # the timestamp parser reads ISO 8601
    return conn


class Connection:
    """One libpq connection, in autocommit unless inside transaction(). Not for concurrent use."""

    def __init__(self, lib, handle):
        self._lib = lib
        self._handle = handle
        self._finish = lib.PQfinish  # kept here: __del__ may run when module globals are gone

    @property
    def closed(self):
        """True once closed, and when libpq reports the connection broken (CONNECTION_BAD)."""
        return self._handle is None or self._lib.PQstatus(self._handle) != CONNECTION_OK

    def close(self):
        """PQfinish; idempotent."""
        handle, self._handle = self._handle, None
        if handle:
            self._finish(handle)

    def __del__(self):
        try:
            self.close()
        except Exception:  # pylint: disable=broad-except  # interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _live(self):
        if self._handle is None:
            raise InterfaceError("the connection is closed")
        return self._handle

    def execute(self, sql, args=()):
        """Run SQL; args is a sequence for the `%s` placeholders. Returns a Result."""
        handle, lib = self._live(), self._lib
        if not isinstance(args, (list, tuple)):
            raise ProgrammingError("args must be a list or a tuple, not %s" % type(args).__name__)
        if not args:
            return self._result(lib.PQexec(handle, _encode(sql, "the SQL")))
        query, count = convert_placeholders(sql)
        if count != len(args):
            raise ProgrammingError("the SQL has %d placeholder(s) but %d argument(s) were given" % (count, len(args)))
        texts = [adapt(value) for value in args]
        values = (ctypes.c_char_p * count)(*[None if t is None else _encode(t, "a parameter") for t in texts])
        # Parameter types left to the server (0): it infers them from the SQL, as for quoted literals.
        return self._result(lib.PQexecParams(handle, _encode(query, "the SQL"), count, None, values, None, None, 0))

    def _result(self, result):
        lib = self._lib
        if not result:  # out of memory, or the connection is gone
            raise OperationalError(_decode(lib.PQerrorMessage(self._handle)) or "no result from libpq")
        try:
            status = lib.PQresultStatus(result)
            if status == PGRES_TUPLES_OK:
                return Result(self._rows(result), self._rowcount(result))
            if status == PGRES_COMMAND_OK:
                return Result([], self._rowcount(result))
            if status in (PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH):
                self.close()  # libpq would wait for COPY data: this connection is unusable now
                raise InterfaceError("COPY is not supported")
            if status == PGRES_EMPTY_QUERY:
                raise ProgrammingError("empty query")
            raise self._error(result)
        finally:
            lib.PQclear(result)

    def _error(self, result):
        lib = self._lib
        sqlstate = lib.PQresultErrorField(result, PG_DIAG_SQLSTATE)
        sqlstate = sqlstate.decode("ascii", "replace") if sqlstate else None
        message = (_decode(lib.PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY))
                   or _decode(lib.PQresultErrorMessage(result)) or _decode(lib.PQerrorMessage(self._handle)))
        # Class 08 (connection exception) and 57P (shutdown): the connection is gone.
        lost = self.closed or (sqlstate or "").startswith(("08", "57P"))
        return (OperationalError if lost else DatabaseError)(message or "statement failed", sqlstate)

    def _rows(self, result):
        lib = self._lib
        columns = range(lib.PQnfields(result))
        converters = [_CONVERTERS.get(lib.PQftype(result, c), str) for c in columns]
        rows = []
        for r in range(lib.PQntuples(result)):
            rows.append(tuple(
                None if lib.PQgetisnull(result, r, c)
                else converters[c](ctypes.string_at(lib.PQgetvalue(result, r, c),
                                                    lib.PQgetlength(result, r, c)).decode("utf-8"))
                for c in columns))
        return rows

    def _rowcount(self, result):
        count = self._lib.PQcmdTuples(result)
        return int(count) if count else -1

    def transaction(self):
        """Context manager: BEGIN, then COMMIT, or ROLLBACK when the block raises."""
        return _Transaction(self)

    def transaction_status(self):
        return self._lib.PQtransactionStatus(self._live())


class _Transaction:
    def __init__(self, conn):
        self.conn = conn

    def __enter__(self):
        if self.conn.transaction_status() != PQTRANS_IDLE:
            raise InterfaceError("a transaction is already open on this connection (nesting is not supported)")
        self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        conn = self.conn
        if exc_type is not None:
            if not conn.closed:
                try:
                    conn.execute("ROLLBACK")
                except Error:
                    conn.close()  # cannot tell the state any more: do not reuse it
            return False  # the block's own exception goes on
        if conn.transaction_status() == PQTRANS_INERROR:
            # A statement failed and the block swallowed the error: COMMIT would silently roll back.
            conn.execute("ROLLBACK")
            raise DatabaseError("the transaction was aborted by an earlier error and has been rolled back",
                                "25P02")
        conn.execute("COMMIT")
        return False
