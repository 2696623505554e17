"""``python -m bench`` (``make bench``): ypv against its stack's ceiling, on SQLite and PostgreSQL.

Defaults are the full run (3 × 10 s per scenario and connection count, full-size
data, about 40 minutes). ``--tiny`` shrinks the data for the smoke test.
"""

import argparse
import os
import platform
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

from bench.dataset import Sizes
from bench.main import Plan, run_backend, run_growth, say
from bench.scenarios import SCENARIOS

TINY = Sizes(countries=3, services=4, numbers=6_000, accounts=3, keys=6, rentals=60, live=20)
GROWTH = (
    ("1,000 rentals, 10 keys", Sizes(rentals=1_000, live=1_000, keys=10, accounts=10)),
    ("1,000,000 rentals, 10 keys", Sizes(rentals=1_000_000, live=1_000, keys=10, accounts=10)),
    ("1,000 rentals, 10,000 keys", Sizes(rentals=1_000, live=1_000, keys=10_000, accounts=10)),
)
TINY_GROWTH = (
    ("20 rentals, 2 keys", Sizes(3, 4, 3_000, 2, 2, 20, 10)),
    ("200 rentals, 2 keys", Sizes(3, 4, 3_000, 2, 2, 200, 10)),
)


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=2)
    parser.add_argument("--scenarios", default=",".join(s.name for s in SCENARIOS))
    parser.add_argument("--no-growth", action="store_true", help="skip the data-growth measurement")
    parser.add_argument("--tiny", action="store_true", help="tiny data (smoke test)")
    parser.add_argument("--workdir", help="keep databases and logs here (default: a temporary directory)")
    return parser.parse_args(argv)


def plan_from(args) -> Plan:
    return Plan(
        backends=tuple(b for b in args.backends.split(",") if b),
        pg_url=args.pg_url,
        sizes=TINY if args.tiny else Sizes(),
        growth=() if args.no_growth else (TINY_GROWTH if args.tiny else GROWTH),
        connections=tuple(int(c) for c in args.connections.split(",")),
        seconds=args.seconds, runs=args.runs, warmup=args.warmup,
        scenarios=tuple(s for s in args.scenarios.split(",") if s),
    )


def versions() -> str:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split("\n")[0]
    packages = ", ".join(f"{p} {version(p)}" for p in ("falcon", "gunicorn", "peewee", "psycopg", "cachetools"))
    return (f"Python {platform.python_version()}, {packages}, SQLite {sqlite3.sqlite_version}, "
            f"{' '.join(wrk.split()[:2])}; {os.cpu_count()} CPUs")


def main(argv=None) -> int:
    args = parse(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    plan = plan_from(args)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="ypv-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    say(f"# ypv bench — {versions()}")
    say(f"wrk on 127.0.0.1, {plan.runs} × {plan.seconds:g} s per scenario and connection count, "
        f"{plan.warmup:g} s warm-up; gunicorn settings: ypv.gunicorn_settings for both apps")
    try:
        for backend in plan.backends:
            run_backend(backend, plan, workdir)
        for backend in plan.backends if plan.growth else ():
            run_growth(backend, plan, workdir)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
