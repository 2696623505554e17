"""Watching the whole test session for a leaked API key (issue 6, item 5).

``start()`` runs before the first test (from tests/stress/conftest.py): it hooks a handler on
the root logger that keeps every record whose text (exception included) holds a whole key,
and notes how long each PostgreSQL server log is, so only what this session appended is read.
test_stress_secrets.py, the last test of the session, reads the results.
"""

import contextlib
import logging
import re
import sqlite3
from pathlib import Path

KEY_PATTERN = re.compile(rb"ypv_[0-9a-f]{64}")
PG_LOGS = Path("/var/log/postgresql")


class KeyWatch(logging.Handler):
    """Remembers (logger, text) of every log record that holds a whole key."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.seen = 0
        self.leaks: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen += 1
        text = self.format(record)
        if KEY_PATTERN.search(text.encode("utf-8", "replace")):
            self.leaks.append((record.name, text[:300]))


WATCH = KeyWatch()
_pg_offsets: dict[Path, int] = {}


def start() -> None:
    root = logging.getLogger()
    if WATCH not in root.handlers:
        root.addHandler(WATCH)
        for path in sorted(PG_LOGS.glob("*.log")) if PG_LOGS.is_dir() else []:
            _pg_offsets[path] = path.stat().st_size


def postgresql_log_leaks() -> tuple[list[str], int]:
    """(PostgreSQL logs with a key in what this session appended, bytes read)."""
    leaks, read = [], 0
    for path, offset in _pg_offsets.items():
        with open(path, "rb") as log:
            log.seek(offset)
            appended = log.read()
        read += len(appended)
        if KEY_PATTERN.search(appended):
            leaks.append(str(path))
    return leaks, read


def files_with_keys(root: Path) -> tuple[list[str], int]:
    """(files under ``root`` holding a whole key, files read).

    Not the service's output: ``.key`` files, which tests write as input for ``ypv upstream add
    --key-file`` (ypv never writes one). Allowed, by design: the ``.eml`` e-mail that carries a
    new key to its owner; and in a database, the credential the operator gave for an upstream
    provider, which reseller mode must keep to call it (upstream.api_key; the live reseller tests
    use a second ypv as the upstream, so that credential looks like one of ours).
    """
    allowed = upstream_credentials(root)
    found, count = [], 0
    for path in Path(root).rglob("*"):
        if not path.is_file() or path.suffix in (".eml", ".key"):
            continue
        count += 1
        keys = set(KEY_PATTERN.findall(path.read_bytes()))
        if ".sqlite3" in path.name:
            keys -= allowed
        if keys:
            found.append(str(path))
    return found, count


def upstream_credentials(root: Path) -> set[bytes]:
    """Every upstream.api_key stored in the SQLite databases under ``root``."""
    credentials = set()
    for path in Path(root).rglob("*.sqlite3"):
        try:
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
                rows = connection.execute("SELECT api_key FROM upstream").fetchall()
        except sqlite3.Error:  # not a ypv database, or one without reseller tables
            continue
        credentials.update(key.encode() for (key,) in rows)
    return credentials
