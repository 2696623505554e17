"""Database wiring: one proxy, opened from a URL, connections per request.

SQLite gets the pragmas money needs (busy_timeout first, WAL, foreign keys,
synchronous FULL) and every write transaction starts with BEGIN IMMEDIATE, so
writers queue on the lock instead of dead-locking on an upgrade. PostgreSQL uses
psycopg 3 through Peewee's pool. Nothing here connects at import time, so
gunicorn can fork safely.
"""

import contextlib
import logging
from urllib.parse import urlparse

from peewee import DatabaseProxy, IntegrityError, OperationalError
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

log = logging.getLogger(__name__)

database = DatabaseProxy()

SQLITE_PRAGMAS = (
    ("busy_timeout", 30000),
    ("journal_mode", "wal"),
    ("foreign_keys", 1),
    ("synchronous", "full"),
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


def _sqlite(url: str):
    return PooledSqliteDatabase(
        sqlite_path(url) or ":memory:",
        pragmas=SQLITE_PRAGMAS,
        timeout=30,
        lock_type="IMMEDIATE",
        check_same_thread=False,
        max_connections=64,
        stale_timeout=600,
    )


def _postgresql(parsed):
    return PooledPostgresqlDatabase(
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


@contextlib.contextmanager
def connection():
    """Use a pooled connection for the duration of a block (a request, a CLI command)."""
    opened = database.connect(reuse_if_open=True)
    try:
        yield
    finally:
        if opened and not database.is_closed():
            database.close()


def write_transaction():
    """A write transaction: BEGIN IMMEDIATE on SQLite, a plain BEGIN on PostgreSQL."""
    return database.atomic()


def retry_on_conflict(fn, attempts: int = 5):
    """Run ``fn`` again when a concurrent writer won a unique-constraint race.

    On PostgreSQL two purchases can pick the same free number from the same
    snapshot; the unique index on ``rental.live_number_id`` rejects the loser,
    which simply tries again with a fresh snapshot. Serialization failures and
    deadlocks are retried the same way. Domain errors pass straight through.
    """
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
