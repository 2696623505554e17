"""ypv backup / ypv restore: a consistent copy of SQLite taken while the service sells and refunds.

These always use SQLite files (backup copies SQLite; PostgreSQL uses pg_dump), so
they run the same on both backends of the suite.
"""

import os
import sqlite3
import subprocess
import sys
import threading
import time

import requests

from ypv import cli
from ypv.testing import YpvServer


def _ledger_rows(path) -> int:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT COUNT(*) FROM ledger").fetchone()[0]


def _run(env: dict, *args) -> tuple[int, str, str]:
    done = subprocess.run([sys.executable, "-m", "ypv.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout, done.stderr


def _buy_and_cancel(server, stop: threading.Event, done: list, lock: threading.Lock):
    """Each loop writes two ledger rows: the charge, then the refund of the cancel."""
    session = requests.Session()
    while not stop.is_set():
        bought = session.get(server.handler_url, params={"api_key": server.api_key, "action": "getNumber",
                                                         "service": "tg", "country": "0"}, timeout=30).text
        cancelled = session.get(server.handler_url, params={"api_key": server.api_key, "action": "setStatus",
                                                            "status": "8", "id": bought.split(":")[1] if ":" in bought else "0"},
                                timeout=30).text
        with lock:
            done.append((bought.split(":")[0], cancelled))


def _wait_for(done: list, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(done) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"only {len(done)} rentals in {timeout}s")


def test_backup_under_load_restores_to_a_balanced_ledger(tmp_path):
    # Four clients loop as fast as the service answers, for as long as the copy takes: the demo key's
    # default 600/min would turn that into TOO_MANY_REQUESTS on a fast machine, which is not what is tested.
    server = YpvServer(tmp_path / "live", env={"YPV_EARLY_CANCEL_SECONDS": "0",
                                              "YPV_DEFAULT_RATE_LIMIT": "1000000"}).start()
    numbers = tmp_path / "numbers.csv"  # a number is never sold twice for one service: bring enough
    numbers.write_text("phone,country,operator\n" + "".join(f"{79800000000 + i},0,mts\n" for i in range(5000)))
    server.cli("numbers", "import", str(numbers))
    stop, done, lock = threading.Event(), [], threading.Lock()
    threads = [threading.Thread(target=_buy_and_cancel, args=(server, stop, done, lock))
               for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        _wait_for(done, 40)
        status, out, err = _run(server.env, "backup", str(tmp_path / "snapshot.sqlite3"))
        assert (status, err) == (0, ""), err
        at_backup = len(done)
        _wait_for(done, at_backup + 40)  # the service kept selling while and after the copy was taken
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        server.stop()
    assert set(done) == {("ACCESS_NUMBER", "ACCESS_CANCEL")}
    size = (tmp_path / "snapshot.sqlite3").stat().st_size
    assert out == f"backup written: {tmp_path / 'snapshot.sqlite3'} ({size} bytes, integrity ok)\n"
    assert not list(tmp_path.glob("*.partial")) and not (tmp_path / "snapshot.sqlite3-wal").exists()

    restored = {"YPV_DATABASE_URL": f"sqlite:///{tmp_path / 'restored.sqlite3'}"}
    assert _run(restored, "restore", str(tmp_path / "snapshot.sqlite3")) == (
        0, f"restored {tmp_path / 'snapshot.sqlite3'}; now run: ypv ledger check\n", "")
    assert _run(restored, "ledger", "check") == (0, "ledger check ok\n", "")
    snapshot_rows = _ledger_rows(tmp_path / "restored.sqlite3")
    final_rows = _ledger_rows(server.workdir / "ypv.sqlite3")
    # demo top-up + whole rentals before the copy < rows in the copy < rows at the end
    assert 1 + 2 * 40 <= snapshot_rows < final_rows

    # restoring over the live database keeps the old one aside, and the service serves the restored state
    assert _run(server.env, "restore", str(tmp_path / "snapshot.sqlite3"))[0] == 0
    saved = list(server.workdir.glob("ypv.sqlite3.before-restore-*"))
    assert [_ledger_rows(p) for p in saved] == [final_rows]
    assert _ledger_rows(server.workdir / "ypv.sqlite3") == snapshot_rows
    assert _run(server.env, "ledger", "check") == (0, "ledger check ok\n", "")
    server.start(demo=False)
    try:
        assert server.get(action="getBalance")[0] == 200
    finally:
        server.stop()


def _demo_database(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'ypv.sqlite3'}"
    monkeypatch.setenv("YPV_DATABASE_URL", url)
    assert cli.main(["demo"]) == 0
    return url


def test_backup_into_a_directory_keeps_the_newest(tmp_path, monkeypatch, capsys):
    _demo_database(tmp_path, monkeypatch)
    backups = tmp_path / "backups"
    backups.mkdir()
    for name in ("ypv-20260101T000000Z.sqlite3", "ypv-20260102T000000Z.sqlite3", "other.txt"):
        (backups / name).write_text("old")
    capsys.readouterr()
    assert cli.main(["backup", str(backups), "--keep", "2"]) == 0
    written = capsys.readouterr().out.split(": ", 1)[1].split(" (")[0]
    assert sorted(p.name for p in backups.iterdir()) == ["other.txt", "ypv-20260102T000000Z.sqlite3",
                                                         os.path.basename(written)]


def test_backup_and_restore_refuse_what_they_should(tmp_path, monkeypatch, capsys):
    _demo_database(tmp_path, monkeypatch)
    existing = tmp_path / "existing.sqlite3"
    existing.write_text("not a database\n" * 100)
    capsys.readouterr()
    assert cli.main(["backup", str(existing)]) == 1
    assert capsys.readouterr().err == f"ypv: {existing} exists; refusing to overwrite a backup\n"
    assert cli.main(["restore", str(existing)]) == 1
    assert capsys.readouterr().err == f"ypv: {existing}: not a SQLite database (file is not a database)\n"
    assert cli.main(["restore", str(tmp_path / "nope")]) == 1
    assert capsys.readouterr().err == f"ypv: {tmp_path / 'nope'}: no such file\n"
    assert cli.main(["backup", str(tmp_path / "b.sqlite3"), "--keep", "3"]) == 1
    assert capsys.readouterr().err == "ypv: --keep needs PATH to be a directory\n"
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE t (x)").connection.close()
    assert cli.main(["restore", str(empty)]) == 1
    assert capsys.readouterr().err == f"ypv: {empty}: not a ypv database (missing account, api_key, ledger, rental)\n"


def test_backup_of_postgresql_names_the_pg_dump_command(monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("YPV_DATABASE_URL", "postgresql://ypv:secret@db.internal:5433/ypv")
    assert cli.main(["backup", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err == (
        "ypv: ypv backup copies SQLite only; for PostgreSQL run: pg_dump --format=custom --file=PATH "
        "--host=db.internal --port=5433 --username=ypv ypv  (see docs/deploy.md)\n")
