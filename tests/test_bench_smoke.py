"""``make bench``, shrunk so it runs with the suite and cannot rot.

Tiny data, one 1-second run per scenario and connection count, on the suite's
backend; the whole table must come out, with no unexpected answer anywhere.
The full run (``make bench``) is documented in docs/performance.md.
"""

import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import dataset, load, servers
from bench.scenarios import SCENARIOS
from tests.conftest import POSTGRES_URL
from ypv import db, wallet
from ypv.models import Rental

REPO = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^(\w+)\s+(1|32)\s+[\d,]+\s+([\d,]+)\s+[\d.]+\s+[\d.]+\s+(\d+)\*?\s+[\d,]+\s+[\d.]+\s+\S")


def test_bench_data_is_consistent(database_url):
    """The bulk-loaded rows keep the books: every balance equals its ledger, every rental is charged."""
    data = dataset.build(dataset.Sizes(3, 4, 300, 3, 6, 60, 20), int(time.time()))
    if POSTGRES_URL:
        load.load_postgresql(database_url, data)
    else:
        load.load_sqlite(database_url[len("sqlite:///"):], data)
    db.open_database(database_url)
    with db.connection():
        assert wallet.ledger_mismatches() == []


def test_the_bench_expires_what_it_bought_and_only_that(api, config):
    """After a buying run the bench ends its purchases through ypv's expiry: refunded, number freed."""
    bought = api.body("getNumber", service="tg", country=0).split(":")[1]
    kept = api.body("getNumber", service="wa", country=0).split(":")[1]
    with db.connection():  # ends a day from now, as the dataset's own live rentals do
        Rental.update(expires_at=int(time.time()) + 86_400).where(Rental.id == int(kept)).execute()
    env = {"YPV_DATABASE_URL": config.database_url}
    if config.key_epoch_file:
        env["YPV_KEY_EPOCH_FILE"] = config.key_epoch_file
    assert servers.expire_purchases(env) == 1
    assert api.body("getStatus", id=bought) == "STATUS_CANCEL"
    assert api.body("getStatus", id=kept) == "STATUS_WAIT_CODE"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.00"  # 100.00 - 2.00 for the kept one, 1.50 refunded
    with db.connection():
        assert wallet.ledger_mismatches() == []


@pytest.mark.live
def test_bench_prints_the_whole_table(tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: apt-get install wrk (.ci/run does)")
    backend = "postgresql" if POSTGRES_URL else "sqlite"
    command = [sys.executable, "-m", "bench", "--tiny", "--seconds", "1", "--runs", "1", "--warmup", "0",
               "--backends", backend, "--workdir", str(tmp_path)]
    if POSTGRES_URL:
        command += ["--pg-url", POSTGRES_URL]
    out = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = [m.groups() for m in map(ROW.match, out.stdout.splitlines()) if m]
    assert [(name, conns) for name, conns, _, _ in rows] == [
        (s.name, c) for s in SCENARIOS for c in ("1", "32")], out.stdout
    for name, conns, median, errors in rows:
        assert int(median.replace(",", "")) > 0, (name, conns)
        assert name == "limited" or errors == "0", (name, conns, out.stdout, out.stderr[-3000:], _failures(tmp_path))
    assert "worker RSS" in out.stdout
    assert re.search(r"^200 rentals, 2 keys\s+\d+ µs\s+[+-]\d+%", out.stdout, re.M), out.stdout


def _failures(workdir: Path) -> list:
    """The servers' logged failures (an ERROR_SQL answer leaves its traceback there)."""
    return [line for log in workdir.glob("*.log") for line in log.read_text(errors="replace").splitlines()
            if "ERROR" in line or "Error" in line][-40:]


def test_the_in_process_bench_prints_both_requests():
    out = subprocess.run([sys.executable, "-m", "bench.inprocess", "--requests", "50", "--rounds", "1"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = re.findall(r"^(429|getBalance)\s+([\d.]+)\s+([\d.]+)$", out.stdout, re.M)
    assert [name for name, _, _ in rows] == ["429", "getBalance"], out.stdout
    assert all(float(ypv) > 0 and float(bare) > 0 for _, ypv, bare in rows)
