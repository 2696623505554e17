"""Measure ypv's throughput with one and with two instances behind the shipped nginx config,
then show that the per-key limit still holds through nginx. Not part of `make test`.

    .venv/bin/python deploy/measure.py [--seconds 10] [--runs 3] [--connections 32]

Everything runs on 127.0.0.1 in a scratch directory (SQLite): N gunicorns on one database,
Debian's nginx (deploy/nginx/ypv.conf, ports and paths substituted, as in the tests) and wrk
(apt-get install wrk). Each configuration is run --runs times; we print the median and the
spread, because on a small shared machine single runs are noisy. docs/deploy.md has the
figures this printed on the project's machine.
"""

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from ypv.testing import YpvServer  # noqa: E402
from ypv.testing_nginx import NginxProxy  # noqa: E402

KEYS = 32  # spread over the instances by the consistent hash, as real customers' keys are

LUA = """
keys = {%s}
i = 0
request = function()
    i = i + 1
    return wrk.format("GET", "/stubs/handler_api.php?action=getBalance&api_key=" .. keys[(i %% #keys) + 1])
end
done = function(summary, latency, requests)
    io.write(string.format("non-2xx: %%d\\n", summary.errors.status))
end
"""


def issue_keys(server: YpvServer, count: int, limit: int) -> list[str]:
    return [server.cli("key", "issue", "demo@ypv.local", "--limit", str(limit)).stdout.strip() for _ in range(count)]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children: a gunicorn or nginx master and its workers."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for each in [pid, *map(int, children)]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def wrk_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # wrk is the only child waited for meanwhile
    return usage.ru_utime + usage.ru_stime


def wrk(url: str, script: Path, seconds: int, connections: int) -> tuple[float, float]:
    """(requests per second, mean latency in ms) of one wrk run; fails on any non-2xx answer."""
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
                         capture_output=True, text=True, check=True).stdout
    if "non-2xx: 0" not in out:
        raise RuntimeError(f"wrk saw errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"Latency\s+([\d.]+)(us|ms|s)", out).groups()
    return rate, float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]


def measured(name, url, script, args, pids: dict) -> None:
    """--runs wrk runs; print throughput and how many cores each party used meanwhile."""
    before = {who: sum(cpu_seconds(p) for p in ps) for who, ps in pids.items()}
    wrk_before = wrk_cpu()
    runs = [wrk(url, script, args.seconds, args.connections) for _ in range(args.runs)]
    wall = args.seconds * args.runs
    cores = {who: (sum(cpu_seconds(p) for p in ps) - before[who]) / wall for who, ps in pids.items()}
    cores["wrk"] = (wrk_cpu() - wrk_before) / wall
    print(summary(name, runs))
    print(" " * 36 + "cores used: " + ", ".join(f"{who} {used:.2f}" for who, used in cores.items()))


def summary(name: str, runs: list[tuple[float, float]]) -> str:
    rates = sorted(r for r, _ in runs)
    latency = statistics.median(lat for _, lat in runs)
    return (f"{name:<34} median {statistics.median(rates):7.0f} req/s   spread {rates[0]:.0f}–{rates[-1]:.0f}"
            f"   runs {', '.join(f'{r:.0f}' for r, _ in runs)}   mean latency {latency:.1f} ms")


def limit_holds(nginx: NginxProxy, keys: list[str], per_key: int) -> Counter:
    """Two threads per key hammer nginx at once; count what each key got."""
    outcomes, lock = Counter(), threading.Lock()

    def client(key):
        session = requests.Session()
        session.trust_env, session.verify = False, str(nginx.cert)
        for _ in range(per_key // 2):
            status = session.get(nginx.handler_url, params={"api_key": key, "action": "getBalance"}).status_code
            with lock:
                outcomes[(key[:16], status)] += 1

    threads = [threading.Thread(target=client, args=(key,)) for key in keys for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ypv-measure-"))
    env = {"YPV_ACCESS_LOG": ""}  # production setting (systemd unit): ypv's own line only
    servers = [YpvServer(work / "first", env=env).start()]
    servers.append(YpvServer(work / "second", database_url=servers[0].database_url, env=env).start(demo=False))
    script = work / "keys.lua"
    script.write_text(LUA % ", ".join(f'"{k}"' for k in issue_keys(servers[0], KEYS, 10**9)))
    proxies = []
    try:
        print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, {KEYS} keys, getBalance, {args.runs} runs each")
        measured("1 instance, direct (no nginx)", servers[0].base_url, script, args,
                 {"ypv": [servers[0].process.pid]})
        for count in (1, 2):
            proxy = NginxProxy(work / f"nginx{count}", [s.port for s in servers[:count]]).start()
            proxies.append(proxy)
            measured(f"{count} instance(s) behind nginx (TLS)", proxy.https_url, script, args,
                     {"ypv": [s.process.pid for s in servers[:count]], "nginx": [proxy.process.pid]})
        limited = issue_keys(servers[0], 8, 600)
        outcomes = limit_holds(proxies[-1], limited, 650)
        per_key = {key[:16]: (outcomes[(key[:16], 200)], outcomes[(key[:16], 429)]) for key in limited}
        print("600/min keys, 650 concurrent requests each through nginx to 2 instances (200s, 429s):")
        for prefix, counts in per_key.items():
            print(f"  {prefix}  {counts}")
        return 0 if all(counts == (600, 50) for counts in per_key.values()) else 1
    finally:
        for proxy in proxies:
            proxy.stop()
        for server in servers:
            server.stop()


if __name__ == "__main__":
    sys.exit(main())
