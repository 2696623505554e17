"""A pytest plugin: a real ypv (real gunicorn) on a free loopback port, for integration tests.

Installed with the package (entry point ``pytest11``). In any project::

    def test_signup(ypv_server):
        client = SomeSmsActivateClient(ypv_server.api_key, url=ypv_server.handler_url)
        ...
        ypv_server.deliver_sms(phone, "Your code: 123456")

Each test gets a fresh SQLite database with the demo catalog, a key with every
scope on an account holding 1000.00, and ``deliver_sms``. ``YpvServer`` can also be
used directly (another database URL, extra environment, a second instance).
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from ypv.webhook import sign

_KEY_LINE = re.compile(r"^demo key \(shown once\): (ypv_[0-9a-f]{64})$", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_listening(process: subprocess.Popen, port: int, log: Path, name: str, timeout: float = 30) -> None:
    """Return once something accepts on 127.0.0.1:port; fail fast (with the log's tail) if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not start within {timeout}s")


def stop_process(process: subprocess.Popen | None, timeout: float = 15) -> None:
    """SIGTERM (a graceful stop for gunicorn and nginx alike), then SIGKILL if it lingers."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class YpvServer:
    """One ypv instance: its database, its gunicorn process and its logs."""

    def __init__(self, workdir: str | Path, database_url: str | None = None, env: dict | None = None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.database_url = database_url or f"sqlite:///{self.workdir / 'ypv.sqlite3'}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.handler_url = f"{self.base_url}/stubs/handler_api.php"
        self.log_path = self.workdir / "gunicorn.log"
        self.webhook_secret = secrets.token_hex(16)
        self.env = {**os.environ, "YPV_DATABASE_URL": self.database_url, "YPV_BIND": f"127.0.0.1:{self.port}",
                    "YPV_WEBHOOK_SECRET": self.webhook_secret, **(env or {})}
        if not self.database_url.startswith("sqlite"):  # SQLite keeps its key epoch beside the file
            self.env.setdefault("YPV_KEY_EPOCH_FILE", str(self.workdir / "key-epoch"))
        self.api_key: str | None = None
        self.process: subprocess.Popen | None = None

    def cli(self, *args: str, check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run ``ypv ARGS`` against this instance's database (``stdin``: e.g. a password)."""
        result = subprocess.run([sys.executable, "-m", "ypv.cli", *args], env=self.env, input=stdin,
                                capture_output=True, text=True, timeout=120)
        if check and result.returncode != 0:
            raise RuntimeError(f"ypv {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def start(self, demo: bool = True) -> "YpvServer":
        if demo:
            output = self.cli("demo").stdout
            self.api_key = _KEY_LINE.search(output).group(1)
        else:
            self.cli("db", "init")
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:ypv.gunicorn_settings", "ypv.wsgi:app"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
        )
        log.close()
        self._wait_until_ready()
        return self

    def _wait_until_ready(self, timeout: float = 30) -> None:
        wait_until_listening(self.process, self.port, self.log_path, "gunicorn", timeout)

    def stop(self) -> None:
        stop_process(self.process)

    def get(self, **params) -> tuple[int, str]:
        """(HTTP status, body) of one handler request; api_key defaults to the demo key."""
        params.setdefault("api_key", self.api_key)
        query = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in params.items())
        try:
            with urllib.request.urlopen(f"{self.handler_url}?{query}", timeout=30) as response:
                return response.status, response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8")

    def balance(self, api_key: str | None = None) -> str:
        status, body = self.get(action="getBalance", api_key=api_key or self.api_key)
        assert status == 200 and body.startswith("ACCESS_BALANCE:"), body
        return body.split(":", 1)[1]

    def deliver_sms(self, phone: str, text: str, sender: str | None = None) -> int | None:
        """Push an SMS through the signed webhook, as a GSM gateway would; returns the rental id."""
        body = json.dumps({"id": secrets.token_hex(8), "to": str(phone), "from": sender, "text": text}).encode()
        timestamp = str(int(time.time()))
        request = urllib.request.Request(f"{self.base_url}/webhooks/sms", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-YPV-Timestamp": timestamp,
            "X-YPV-Signature": sign(self.webhook_secret, timestamp, body)})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["rental"]

    def __enter__(self) -> "YpvServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def ypv_server():
    """A running ypv with the demo catalog; ``.api_key`` is funded with 1000.00."""
    workdir = tempfile.mkdtemp(prefix="ypv-")
    server = YpvServer(workdir, env={"YPV_EARLY_CANCEL_SECONDS": "0"}).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
