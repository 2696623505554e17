"""Issue 6, item 5: after the whole suite and the load runs, no ``ypv_`` + 64 hex key anywhere the
service wrote. tests/stress/conftest.py makes these the session's last tests.

Each live server's workdir is also checked when its test ends (tests/conftest.py, live_server), and
each PostgreSQL test database before it is dropped (tests/conftest.py, database_url). These tests
sweep what the whole session left: every file under pytest's base temporary directory (gunicorn
logs, SQLite databases with their WAL, backups, CLI output; not the .eml e-mail that delivers a
new key), every log record emitted in this process, and what PostgreSQL logged meanwhile.
"""

import contextlib
import sqlite3
import tempfile
from pathlib import Path

from tests.stress import secrets_watch
from tests.stress.support import report


def test_no_file_the_session_wrote_holds_a_key(tmp_path_factory):
    leaks, read = secrets_watch.files_with_keys(tmp_path_factory.getbasetemp())
    assert leaks == []
    report("secrets: files", files_read=read, leaks=len(leaks))


def test_no_log_record_holds_a_key():
    assert secrets_watch.WATCH.leaks == []
    report("secrets: log records", records_read=secrets_watch.WATCH.seen, leaks=0)


def test_postgresql_logged_no_key():
    leaks, read = secrets_watch.postgresql_log_leaks()
    assert leaks == []
    report("secrets: PostgreSQL server log", bytes_read=read, logs=len(secrets_watch._pg_offsets), leaks=0)


def test_the_sweep_finds_a_planted_key():
    """The sweep itself can fail: a key in a log, or in a database outside upstream.api_key, is found."""
    key, credential = "ypv_" + "ab" * 32, "ypv_" + "cd" * 32
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "gunicorn.log").write_text(f"GET /?api_key={key}\n")
        (root / "mail.eml").write_text(f"your key: {key}\n")
        (root / "upstream.key").write_text(f"{credential}\n")
        with contextlib.closing(sqlite3.connect(root / "ypv.sqlite3")) as connection, connection:
            connection.execute("CREATE TABLE upstream (api_key TEXT)")
            connection.execute("CREATE TABLE rental (order_id TEXT)")
            connection.execute("INSERT INTO upstream VALUES (?)", (credential,))
        assert secrets_watch.files_with_keys(root) == ([str(root / "gunicorn.log")], 2)
        with contextlib.closing(sqlite3.connect(root / "ypv.sqlite3")) as connection, connection:
            connection.execute("INSERT INTO rental VALUES (?)", (key,))
        assert sorted(secrets_watch.files_with_keys(root)[0]) == [str(root / "gunicorn.log"), str(root / "ypv.sqlite3")]
