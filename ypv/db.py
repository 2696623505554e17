"""Database wiring: one proxy, opened from a URL, connections per request.

SQLite gets the pragmas money needs (busy_timeout first, WAL, foreign keys,
synchronous FULL) and every write transaction starts with BEGIN IMMEDIATE, so
writers queue on the lock instead of dead-locking on an upgrade; inside one
process they first queue on a Python lock, so threads never sit in SQLite's
sleeping busy handler. PostgreSQL uses psycopg 3 through Peewee's pool, minus
its round trip per checkout. Nothing here connects at import time, so gunicorn
can fork safely.
"""

import contextlib
import logging
import threading
import time
from urllib.parse import urlparse

from peewee import DatabaseProxy, IntegrityError, OperationalError, PeeweeException, _savepoint
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

log = logging.getLogger(__name__)


SQLITE_PRAGMAS = (
    ("busy_timeout", 30000),
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "full"),
    # 512 KiB of page cache per connection, not SQLite's 2 MiB: a worker has a
    # connection per thread caching the same hot pages, and the OS caches the
    # file anyway (no measurable difference for lookups; -8 MiB of worker RSS).
    ("cache_size", -512),
)


def open_database(url: str):
    """Build (but do not connect) the database for ``url`` and point the proxy at it."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        db = _sqlite(url)
    elif parsed.scheme in ("postgres", "postgresql"):
        db = _postgresql(parsed)
    else:
        raise ValueError(f"unsupported database URL scheme {parsed.scheme!r}")
    database.initialize(db)
    return db


def sqlite_path(url: str) -> str:
    """The file of a sqlite:// URL ('' for an in-memory database)."""
    return url[len("sqlite:///"):] if url.startswith("sqlite:///") else url[len("sqlite://"):]


class _OneSavepointName:
    """Nested ``atomic()`` blocks as savepoints that all have one name.

    Peewee names each savepoint with a fresh uuid4, so every SAVEPOINT and RELEASE is
    a new statement text: SQLite prepares it anew and keeps it in the connection's
    statement cache (128 entries, least recently used out), where a few hundred
    cancellations push out the statements every request runs; psycopg likewise.
    Savepoints opened by ``with`` blocks close last-in first-out, and SQLite and
    PostgreSQL both take a repeated name to mean the newest savepoint of that name,
    so one name nests correctly.
    """

    def savepoint(self):
        return _savepoint(self, "ypv_nested")


class _Proxy(_OneSavepointName, DatabaseProxy):
    """The models' database (``atomic()`` through it asks it for savepoints)."""


class _SqlitePool(_OneSavepointName, PooledSqliteDatabase):
    pass


database = _Proxy()


def _sqlite(url: str):
    return _SqlitePool(
        sqlite_path(url) or ":memory:",
        pragmas=SQLITE_PRAGMAS,
        timeout=30,
        lock_type="IMMEDIATE",
        check_same_thread=False,
        max_connections=64,
        stale_timeout=600,
    )


class _PostgresqlPool(_OneSavepointName, PooledPostgresqlDatabase):
    """Peewee's pool pings (SELECT 1) every connection it hands out: one more round
    trip per request. A connection that was in use moments ago is alive, or psycopg
    already knows it is not (closed, or status unknown: check-in discards those), so
    only connections idle for a while are pinged. A server that died under a busy
    pool costs the requests in flight, as it would anyway."""

    IDLE_PING_SECONDS = 10

    def __init__(self, *args, **kwargs):
        self._returned_at = {}
        super().__init__(*args, **kwargs)

    def _is_closed(self, conn):
        if conn.closed or self._adapter.txn_status(conn) == self._adapter.txn_unknown:
            return True
        idle = time.monotonic() - self._returned_at.get(self.conn_key(conn), 0)
        return idle > self.IDLE_PING_SECONDS and super()._is_closed(conn)

    def _close(self, conn, close_conn=False):
        self._returned_at[self.conn_key(conn)] = time.monotonic()
        super()._close(conn, close_conn)
        if conn.closed:
            self._returned_at.pop(self.conn_key(conn), None)


def _postgresql(parsed):
    return _PostgresqlPool(
        parsed.path.lstrip("/"),
        user=parsed.username or None,
        password=parsed.password or None,
        host=parsed.hostname or None,
        port=parsed.port or None,
        max_connections=64,
        stale_timeout=600,
        timeout=30,
    )


def is_sqlite() -> bool:
    return isinstance(database.obj, PooledSqliteDatabase)


def is_postgresql() -> bool:
    return isinstance(database.obj, PooledPostgresqlDatabase)


_dialect_sql: dict = {}


def fetchone(sql: str, params: tuple):
    """First row of a hand-written query, ``{p}`` standing for the placeholder.

    For the few statements on every request: Peewee builds a query anew each
    time, which costs several times what the database then spends running it.
    """
    return database.execute_sql(placeholders(sql), params).fetchone()


def placeholders(sql: str) -> str:
    """``sql`` with the driver's placeholder for ``{p}`` (kept: the same few statements run all day)."""
    key = (sql, database.param)
    text = _dialect_sql.get(key)
    if text is None:
        text = _dialect_sql[key] = sql.replace("{p}", database.param)
    return text


_model_reads: dict = {}


def get_model(model, where: str, params: tuple):
    """One model instance for a hand-written WHERE clause (``{p}`` placeholders), or None.

    What ``Model.get_or_none`` returns, at a twentieth of the cost: the SELECT and the
    fields' converters are found once per model and clause, and the row's converted
    values become the instance's data directly: what Peewee's cursor wrapper gets by
    setting each field through its descriptor and then clearing the dirty set.
    """
    read = _model_reads.get((model, where))
    if read is None:
        fields = model._meta.sorted_fields
        sql = f"SELECT {', '.join(f.column_name for f in fields)} FROM {model._meta.table_name} WHERE {where}"
        read = _model_reads[(model, where)] = (sql, [(f.name, f.python_value) for f in fields])
    sql, converters = read
    row = fetchone(sql, params)
    if row is None:
        return None
    instance = model(__no_default__=1)
    instance.__data__ = {name: convert(value) for (name, convert), value in zip(converters, row)}
    return instance


def execute(sql: str, params: tuple) -> int:
    """Run a hand-written statement (``{p}`` placeholders); returns the rows it changed."""
    return database.execute_sql(placeholders(sql), params).rowcount


def execute_many(sql: str, rows: list) -> None:
    """Run a hand-written statement once per row of parameters (``{p}`` placeholders).

    One statement text whatever the number of rows: SQLite prepares, and keeps, a statement
    per distinct text (up to 128 per connection), so an ``IN (?, ?, …)`` sized to each batch
    would fill every connection with near-copies. psycopg sends the rows in one pipeline.
    """
    database.cursor().executemany(placeholders(sql), rows)


def padded(values, lengths: tuple):
    """``values`` with its last one repeated up to the first of ``lengths`` that holds them
    (empty stays empty).

    For the lists a hand-written statement spells out one placeholder each (``IN (…)``,
    repeated filters): the text then has one of a few lengths instead of one per count,
    and each text is a statement that every connection running it prepares and keeps.
    A repeated value matches nothing more.
    """
    if not values:
        return values
    length = next(n for n in lengths if n >= len(values))
    return values + values[-1:] * (length - len(values))


_inserts: dict = {}


def insert(model, **values) -> int:
    """Write one row of ``model`` from field names and values; the new row's id.

    For the purchase path, inside the write lock: the INSERT and the fields'
    converters are found once per model and field set, and no model instance is
    built (``Model.create`` would build the instance and the query anew). The
    caller passes every value it needs: the model's Python defaults do not apply.
    """
    insert_for = _inserts.get((model, tuple(values)))
    if insert_for is None:
        fields = [model._meta.fields[name] for name in values]
        sql = (f"INSERT INTO {model._meta.table_name} ({', '.join(f.column_name for f in fields)}) "
               f"VALUES ({', '.join(['{p}'] * len(fields))})" + (" RETURNING id" if is_postgresql() else ""))
        insert_for = _inserts[(model, tuple(values))] = (sql, [f.db_value for f in fields])
    sql, converters = insert_for
    cursor = database.execute_sql(placeholders(sql), tuple(c(v) for c, v in zip(converters, values.values())))
    return cursor.fetchone()[0] if is_postgresql() else cursor.lastrowid


@contextlib.contextmanager
def connection(keep: bool = False):
    """Use a pooled connection for the duration of a block (a request, a CLI command).

    ``keep=True`` (API requests, on gunicorn's long-lived threads): the thread keeps
    its connection for the next request instead of handing it back to the pool and
    taking it out again, which costs more than the query a 429 needs. It goes back
    anyway after a database error, with a transaction left open, or after
    KEEP_SECONDS, so the pool still retires broken and old connections.
    """
    opened = database.connect(reuse_if_open=True)
    if opened:
        _thread.since = time.monotonic()
    failed = False
    try:
        yield
    except PeeweeException:
        failed = True
        raise
    finally:
        if not database.is_closed() and _release(opened, keep, failed):
            database.close()


KEEP_SECONDS = 60
_thread = threading.local()


def _release(opened: bool, keep: bool, failed: bool) -> bool:
    if not keep:
        return opened
    too_old = time.monotonic() - getattr(_thread, "since", 0) > KEEP_SECONDS
    return failed or too_old or database.in_transaction()


# SQLite has one writer at a time. Threads that meet a held write lock inside
# SQLite sleep in its busy handler (1, 2, 5 … 100 ms steps) and wake late, so
# under load purchases queue behind sleeping threads. Queuing them here first,
# on a lock that wakes the next writer at once, keeps SQLite's wait for other
# processes (the CLI) only. Re-entrant: a nested write_transaction is a savepoint.
sqlite_writer = threading.RLock()


@contextlib.contextmanager
def write_transaction():
    """A write transaction: BEGIN IMMEDIATE on SQLite, a plain BEGIN on PostgreSQL."""
    if is_sqlite():
        with sqlite_writer, database.atomic():
            yield
    else:
        with database.atomic():
            yield


def retry_on_conflict(fn, attempts: int = 5):
    """Run ``fn`` all-or-nothing as one write, whole again when a concurrent writer won a race.

    On PostgreSQL two purchases can pick the same free number from the same
    snapshot; the unique index on ``rental.live_number_id`` rejects the loser,
    which simply tries again with a fresh snapshot. Serialization failures and
    deadlocks are retried the same way. Domain errors pass straight through.
    Each attempt is a transaction of its own (a savepoint inside the caller's),
    so a retry never sees a failed attempt's writes. On SQLite an attempt is one
    item of a group commit (ypv/group_commit.py): concurrent callers share one
    transaction and one fsync, and each still commits or fails on its own.
    """
    if is_sqlite():
        from ypv.group_commit import group  # it builds on this module
        return _retrying(lambda: group.run(fn), attempts)
    return _retrying(lambda: _in_transaction(fn), attempts)


def _in_transaction(fn):
    with database.atomic():
        return fn()


def _retrying(fn, attempts: int):
    for attempt in range(attempts):
        try:
            return fn()
        except (IntegrityError, OperationalError) as exc:
            if attempt == attempts - 1 or not _retryable(exc):
                raise
            log.info("retrying after a concurrent-write conflict: %s", type(exc).__name__)
    raise AssertionError("unreachable")


def _retryable(exc) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("unique", "deadlock", "serializ", "could not obtain lock"))
