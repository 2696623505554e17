"""Start ypv and the bare app under the shipped gunicorn settings, and read worker memory."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from ypv.testing import free_port

REPO = Path(__file__).resolve().parent.parent
SETTINGS = "python:ypv.gunicorn_settings"   # exactly what `ypv serve` and gunicorn.conf.py use


class Gunicorn:
    """One gunicorn master (one worker, as shipped) serving ``target`` on a free loopback port."""

    def __init__(self, name: str, target: str, workdir: Path, env: dict):
        self.name = name
        self.target = target
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/stubs/handler_api.php"
        self.log_path = workdir / f"{name}.log"
        self.env = {**os.environ, **env, "YPV_BIND": f"127.0.0.1:{self.port}"}
        self.process: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", SETTINGS, self.target],
                env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        self._wait_until_ready()
        return self

    def _wait_until_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    if self.worker_pid():
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not start within {timeout}s")

    def worker_pid(self) -> int | None:
        """gunicorn's only worker: the master's child."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return int(children[0]) if children else None

    def worker_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.worker_pid()}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Ypv(Gunicorn):
    def expire_purchases(self) -> int:
        """End every rental bought so far; see ``expire_purchases``."""
        return expire_purchases(self.env)


# `ypv expire` run a rental lifetime (plus a second) ahead of the clock: it ends exactly the
# rentals bought since the data was loaded, whose lifetime is YPV_RENTAL_TTL_SECONDS, and not the
# dataset's own live rentals, which expire a day after loading (bench/dataset.py).
_EXPIRE = ("import sys, time; from ypv import cli; from ypv.config import Config; "
           "ahead = Config.from_env().rental_ttl_seconds + 1; "
           "sys.exit(cli.main(['expire'], clock=lambda: time.time() + ahead))")


def expire_purchases(env: dict) -> int:
    """Refund and free what a buying scenario bought, through ypv's own expiry; returns how many.

    Every purchase holds a number for twenty minutes, and a live number cannot be sold
    again, so without this the 3 × 10 s of getNumber, then mixed, sell the 90,000 free
    numbers of the pool out on a fast machine and the last runs measure NO_NUMBERS. Run
    after every run of a buying scenario, it also starts each run from the same pool.
    """
    out = subprocess.run([sys.executable, "-c", _EXPIRE], env={**os.environ, **env}, cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    return int(out.split()[1])  # "expired N rental(s)"


def ypv_server(workdir: Path, database_url: str, name: str = "ypv") -> Ypv:
    env = {"YPV_DATABASE_URL": database_url}
    if not database_url.startswith("sqlite"):  # as docs/deploy.md sets it for PostgreSQL
        env["YPV_KEY_EPOCH_FILE"] = str(workdir / "key-epoch")
    return Ypv(name, "ypv.wsgi:app", workdir, env)


def bare_server(workdir: Path, bodies_path: Path) -> Gunicorn:
    return Gunicorn("bare", "bench.bare_app:app", workdir, {"BENCH_BARE_BODIES": str(bodies_path)})
