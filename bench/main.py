"""One backend's bench: load the data, start ypv and the bare app, drive both, print the rows."""

import contextlib
import json
import os
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from bench import report, wrk
from bench.dataset import Sizes, build
from bench.load import create_pg_database, drop_pg_database, load_postgresql, load_sqlite
from bench.scenarios import SCENARIOS, bare_bodies, write_lua_data
from bench.servers import bare_server, ypv_server


@dataclass(frozen=True)
class Plan:
    backends: tuple
    pg_url: str
    sizes: Sizes
    growth: tuple            # (label, Sizes) per growth dataset; empty = skip
    connections: tuple
    seconds: float
    runs: int
    warmup: float
    scenarios: tuple


def say(text: str = "") -> None:
    print(text, flush=True)


class Database:
    """A fresh database for one dataset: a SQLite file in the workdir or a new PostgreSQL database."""

    def __init__(self, backend: str, plan: Plan, workdir: Path, label: str):
        self.backend, self.plan = backend, plan
        self.path = workdir / f"{label}.sqlite3"
        self.url = None

    def load(self, data) -> str:
        if self.backend == "sqlite":
            self.remove()
            self.url = load_sqlite(str(self.path), data)
        else:
            self.url = load_postgresql(create_pg_database(self.plan.pg_url), data)
        return self.url

    def drop(self) -> None:
        if self.backend == "postgresql" and self.url:
            drop_pg_database(self.plan.pg_url, self.url)
        self.remove()

    def remove(self) -> None:
        for suffix in ("", "-wal", "-shm", "-keys"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


def describe(sizes: Sizes) -> str:
    return (f"{sizes.keys:,} keys on {sizes.account_count:,} accounts, {sizes.rentals:,} rentals "
            f"({sizes.live:,} live), {sizes.numbers:,} numbers, {sizes.countries} countries × "
            f"{sizes.services} services priced")


def get(url: str, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    with urllib.request.urlopen(f"{url}?{query}", timeout=60) as response:
        return response.read().decode("utf-8")


BUYING = ("getNumber", "mixed")  # scenarios whose requests rent numbers


def measure(server, scenario: str, datafile: Path, conns: int, seconds: float, bare: bool = False):
    """One wrk run; after a buying one, ypv's purchases are expired so the next run finds the same pool."""
    result = wrk.run(server.url, scenario, datafile, conns, seconds, bare=bare)
    if scenario in BUYING and not bare:
        server.expire_purchases()
    return result


def compare(backend: str, plan: Plan, ypv, bare, datafile: Path) -> None:
    """Every scenario × connection count; ypv and bare alternate so noise hits both alike."""
    say(report.HEADER)
    for name in plan.scenarios:
        for conns in plan.connections:
            if plan.warmup:
                for server, is_bare in ((bare, True), (ypv, False)):
                    measure(server, name, datafile, conns, plan.warmup, bare=is_bare)
            ours, theirs = [], []
            for _ in range(plan.runs):
                theirs.append(measure(bare, name, datafile, conns, plan.seconds, bare=True))
                ours.append(measure(ypv, name, datafile, conns, plan.seconds))
            summary = wrk.Summary.of(ours)
            say(report.row(backend, name, conns, summary, wrk.Summary.of(theirs)))
            for line in summary.unexpected:  # to stderr: what an error was, without breaking the table
                print(f"{name} at {conns}: {line}", file=sys.stderr, flush=True)
    say(report.FOOTNOTE)


def use_every_key(url: str, data) -> None:
    """One getBalance per key: the server remembers every key, as a busy one does."""
    for key in data.keys:
        get(url, api_key=key, action="getBalance")


def touch_everything(url: str, data) -> None:
    """Every key and one getStatus per live rental, so every cache holds everything."""
    use_every_key(url, data)
    for key, rental_id, _ in data.pairs:
        get(url, api_key=key, action="getStatus", id=rental_id)


def run_backend(backend: str, plan: Plan, workdir: Path) -> None:
    say(f"\n## {backend}: {describe(plan.sizes)}   (load {load_text()})")
    started = time.monotonic()
    data = build(plan.sizes, int(time.time()))
    database = Database(backend, plan, workdir, f"{backend}-main")
    datafile = workdir / f"{backend}-main.lua"
    ypv = bare = None
    try:
        url = database.load(data)
        say(f"data generated and bulk-loaded in {time.monotonic() - started:.1f} s")
        write_lua_data(data, datafile)
        ypv = ypv_server(workdir, url).start()
        get(ypv.url, api_key=data.limited_key, action="getBalance")  # its one request this minute
        bodies = workdir / f"{backend}-bare.json"
        bodies.write_text(json.dumps(bare_bodies(get(ypv.url, api_key=data.keys[0], action="getPrices"))))
        bare = bare_server(workdir, bodies).start()
        compare(backend, plan, ypv, bare, datafile)
        for server in (ypv, bare):
            touch_everything(server.url, data)
        rss, bare_rss = ypv.worker_rss_mib(), bare.worker_rss_mib()
        say(f"worker RSS after the run and a request with every key and every live rental: "
            f"ypv {rss:.1f} MiB, bare {bare_rss:.1f} MiB, difference {rss - bare_rss:+.1f} MiB "
            f"(target <= +40 MiB: {'met' if rss - bare_rss <= 40 else 'MISSED'})   (load {load_text()})")
    finally:
        for server in (ypv, bare):
            if server:
                server.stop()
        database.drop()
        datafile.unlink(missing_ok=True)  # it holds plaintext keys


GROWTH_SCENARIOS = ("getBalance", "getStatus", "getNumber")


def run_growth(backend: str, plan: Plan, workdir: Path) -> None:
    """Per-request cost at one connection (microseconds = 1e6 / req/s) as the data grows.

    Every dataset gets its own database and server, all started before the first
    run, and their runs take turns (run 1 on each dataset, then run 2 …): a
    machine that is slower for a minute slows every dataset's run alike, where
    dataset after dataset would read that minute as growth. Each key is used once
    before the first run, as a busy server's keys have been: otherwise the
    10,000-key rows would time each key's first lookup (a third of getBalance's
    requests), which a server pays once per key, not per request.
    """
    say(f"\n## {backend}: per-request cost as data grows (1 connection, median of {plan.runs}, "
        f"datasets taking turns)   (load {load_text()})")
    with contextlib.ExitStack() as stack:
        targets = [_growth_target(stack, backend, plan, workdir, i, sizes) for i, (_, sizes) in enumerate(plan.growth)]
        costs = [[] for _ in targets]
        for name in GROWTH_SCENARIOS:
            if plan.warmup:
                for server, datafile in targets:
                    measure(server, name, datafile, 1, plan.warmup)
            runs = [[] for _ in targets]
            for _ in range(plan.runs):
                for i, (server, datafile) in enumerate(targets):
                    runs[i].append(measure(server, name, datafile, 1, plan.seconds))
            for i, dataset_runs in enumerate(runs):
                costs[i].append(1e6 / wrk.Summary.of(dataset_runs).median_rps)
    say(f"{'dataset':<44}" + "".join(f"{name:>14}" for name in GROWTH_SCENARIOS))
    for i, (label, _) in enumerate(plan.growth):
        cells = "".join(f"{c:>11.0f} µs" if i == 0 else f"{c:>8.0f} µs{_change(c, costs[0][j]):>6}"
                        for j, c in enumerate(costs[i]))
        say(f"{label:<44}{cells}")
    say("(change against the first row; the target is flat within 10%)")


def _change(value: float, base: float) -> str:
    return f"{(value / base - 1) * 100:+.0f}%"


def _growth_target(stack: contextlib.ExitStack, backend: str, plan: Plan, workdir: Path, index: int,
                   sizes: Sizes) -> tuple:
    """Load one growth dataset and start its server; the stack stops, drops and deletes them after."""
    data = build(sizes, int(time.time()))
    database = Database(backend, plan, workdir, f"{backend}-growth{index}")
    stack.callback(database.drop)
    datafile = workdir / f"{backend}-growth{index}.lua"
    stack.callback(datafile.unlink, missing_ok=True)  # it holds plaintext keys
    url = database.load(data)
    write_lua_data(data, datafile)
    server = ypv_server(workdir, url, name=f"ypv-growth{index}").start()
    stack.callback(server.stop)
    use_every_key(server.url, data)
    return server, datafile


def load_text() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())
