"""Run wrk with bench/lua/ypv.lua and read the one JSON line its done() prints."""

import json
import statistics
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "lua" / "ypv.lua"


@dataclass(frozen=True)
class Run:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int          # socket errors + HTTP >= 400 + bodies the scenario did not expect
    http_errors: int
    unexpected: tuple = ()  # up to 3 of those bodies per wrk thread, as the Lua script wrote them


def run(url: str, scenario: str, datafile: Path, connections: int, seconds: float, bare: bool = False) -> Run:
    threads = min(connections, 2)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "5s", "-s", str(SCRIPT), url, "--", scenario, str(datafile)]
    if bare:
        command.append("bare")
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout[-1000:]} {out.stderr[-1000:]}")
    stats = json.loads(line[len("BENCH "):])
    errors = stats["socket_errors"] + stats["http_errors"] + stats["bad_bodies"]
    return Run(rps=stats["requests"] / (stats["duration_us"] / 1e6), p50_ms=stats["p50_us"] / 1000,
               p99_ms=stats["p99_us"] / 1000, errors=errors, http_errors=stats["http_errors"],
               unexpected=tuple(ln for ln in out.stderr.splitlines() if ln.startswith("unexpected body")))


@dataclass(frozen=True)
class Summary:
    runs: tuple
    median_rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    http_errors: int
    unexpected: tuple

    @classmethod
    def of(cls, runs: list) -> "Summary":
        return cls(tuple(r.rps for r in runs), statistics.median(r.rps for r in runs),
                   statistics.median(r.p50_ms for r in runs), statistics.median(r.p99_ms for r in runs),
                   sum(r.errors for r in runs), sum(r.http_errors for r in runs),
                   tuple(line for r in runs for line in r.unexpected))
