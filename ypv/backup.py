"""Online backup and restore of the SQLite database.

A backup is taken with SQLite's backup API in one step: one read transaction,
so the copy is a single consistent snapshot (every committed transaction or
none of it, so ``balance == sum(ledger)`` holds in the copy), and in WAL mode it
does not block the service's writers while it runs. The copy is checked with
``PRAGMA integrity_check`` and switched to a self-contained rollback-journal
file before it is renamed into place, so a half-written backup never carries
the final name.

PostgreSQL is backed up with pg_dump (docs/deploy.md); ``ypv backup`` says how.
"""

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from ypv import db

BUSY_MS = 30_000
PATTERN = "ypv-*.sqlite3"
REQUIRED_TABLES = {"account", "api_key", "ledger", "rental"}


def backup(database_url: str, destination: str | Path, keep: int | None = None) -> Path:
    """Copy the live database to ``destination`` (a new file, or a directory for a timestamped one)."""
    source = _sqlite_file(database_url)
    destination = Path(destination)
    if destination.is_dir():
        target = destination / f"ypv-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.sqlite3"
    elif keep is not None:
        raise ValueError("--keep needs PATH to be a directory")
    else:
        target = destination
    if target.exists():
        raise ValueError(f"{target} exists; refusing to overwrite a backup")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _copy(source, partial, standalone=True)
    check(partial)
    os.replace(partial, target)
    _fsync_directory(target.parent)
    if keep is not None:
        prune(destination, keep)
    return target


def restore(database_url: str, backup_file: str | Path) -> Path | None:
    """Replace the database's contents with a backup; returns where the old contents were saved.

    The copy goes through the backup API into the live file, under SQLite's own
    locks, so it is safe even if something still has the database open; stop
    the service first anyway, so no request sees the switch half-way.
    """
    backup_file = Path(backup_file)
    check(backup_file)
    target = Path(db.sqlite_path(database_url))
    saved = None
    if target.exists() and target.stat().st_size > 0:
        saved = backup(database_url, target.with_name(f"{target.name}.before-restore-"
                                                      f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}"))
    _copy(backup_file, target, standalone=False)
    return saved


def check(path: Path) -> None:
    """Raise ValueError unless ``path`` is an intact SQLite file holding a ypv database."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    with _connect(path) as connection:
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{path}: not a SQLite database ({exc})") from None
    if result != "ok":
        raise ValueError(f"{path}: integrity check failed: {result}")
    if not REQUIRED_TABLES <= tables:
        raise ValueError(f"{path}: not a ypv database (missing {', '.join(sorted(REQUIRED_TABLES - tables))})")


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` timestamped backups in ``directory``."""
    backups = sorted(directory.glob(PATTERN))
    doomed = backups[:-keep] if keep > 0 else backups
    for path in doomed:
        path.unlink()
    return doomed


def pg_dump_hint(database_url: str) -> str:
    """The pg_dump command for a PostgreSQL URL, without its password."""
    url = urlparse(database_url)
    parts = ["pg_dump --format=custom --file=PATH"]
    if url.hostname:
        parts.append(f"--host={url.hostname}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts.append(url.path.lstrip("/") or "postgres")
    return " ".join(parts)


def _sqlite_file(database_url: str) -> Path:
    if not database_url.startswith("sqlite:"):
        raise ValueError("ypv backup copies SQLite only; for PostgreSQL run: "
                         f"{pg_dump_hint(database_url)}  (see docs/deploy.md)")
    path = Path(db.sqlite_path(database_url))
    if not path.is_file():
        raise ValueError(f"{path}: no such database file")
    return path


def _copy(source: Path, target: Path, standalone: bool) -> None:
    with _connect(source) as src, _connect(target) as dst:
        src.backup(dst)  # pages=-1: one step, one read transaction, one snapshot
        # A backup is one self-contained file; a restored database is in WAL, as the service expects.
        dst.execute(f"PRAGMA journal_mode={'DELETE' if standalone else 'WAL'}")


class _connect:
    """sqlite3 connection that is closed (not just committed) on exit."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(str(path), timeout=BUSY_MS / 1000)

    def __enter__(self) -> sqlite3.Connection:
        self.connection.execute(f"PRAGMA busy_timeout={BUSY_MS}")
        return self.connection

    def __exit__(self, *exc) -> None:
        self.connection.close()


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
