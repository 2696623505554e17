"""Against a real gunicorn on 127.0.0.1: concurrency, the limiter, expiry, demo SMS, secrets."""

import json
import re
import threading
import time
from collections import Counter
from pathlib import Path

import requests

from tests.conftest import KEY_PATTERN, live_server
from ypv import db
from ypv.models import ALL_MODELS
from ypv.money import render

def _new_customer(server, email, balance, limit=100_000):
    server.cli("account", "add", email)
    if balance != "0.00":
        server.cli("wallet", "topup", email, balance)
    return server.cli("key", "issue", email, "--limit", str(limit)).stdout.strip()


def _tg_price(server) -> int:
    prices = json.loads(server.get(action="getPrices", service="tg", country=0)[1])
    return round(prices["0"]["tg"]["cost"] * 100)


def _import_numbers(server, tmp_path, count, country=0, start=79700000000):
    csv = tmp_path / "numbers.csv"
    csv.write_text("phone,country,operator\n" + "".join(f"{start + i},{country},mts\n" for i in range(count)))
    server.cli("numbers", "import", str(csv))


def test_concurrent_purchases_sell_exactly_what_the_wallet_pays_for(tmp_path, request):
    server = live_server(tmp_path, request)
    try:
        _import_numbers(server, tmp_path, 150)
        price = _tg_price(server)
        key = _new_customer(server, "buyer@example.com", render(price * 100))
        bodies, statuses = [], []
        lock = threading.Lock()

        def buyer():
            session = requests.Session()
            for _ in range(50):
                r = session.get(server.handler_url, params={"api_key": key, "action": "getNumber",
                                                            "service": "tg", "country": "0"}, timeout=60)
                with lock:
                    statuses.append(r.status_code)
                    bodies.append(r.text)

        threads = [threading.Thread(target=buyer) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcome = Counter(b.split(":")[0] for b in bodies)
        assert set(statuses) == {200}
        assert outcome == {"ACCESS_NUMBER": 100, "NO_BALANCE": 300}
        phones = [b.split(":")[2] for b in bodies if b.startswith("ACCESS_NUMBER")]
        assert len(set(phones)) == 100
        assert server.balance(key) == "0.00"
        assert server.cli("ledger", "check").stdout.strip() == "ledger check ok"
    finally:
        server.stop()
    log = server.log_path.read_text()
    assert "database is locked" not in log and "Traceback" not in log


def test_request_601_within_a_minute_gets_429(tmp_path, request):
    server = live_server(tmp_path, request)
    try:
        key = _new_customer(server, "busy@example.com", "1.00", limit=600)
        session = requests.Session()
        started = time.monotonic()
        answers = [session.get(server.handler_url, params={"api_key": key, "action": "getBalance"})
                   for _ in range(601)]
        elapsed = time.monotonic() - started
        assert elapsed < 60
        assert Counter((a.status_code, a.text) for a in answers[:600]) == {(200, "ACCESS_BALANCE:1.00"): 600}
        last = answers[600]
        assert (last.status_code, last.text) == (429, "TOO_MANY_REQUESTS")
        assert last.headers["Content-Type"] == "text/plain; charset=utf-8"
        assert 60 - elapsed - 1 <= int(last.headers["Retry-After"]) <= 60
        # a bad key is answered before the limiter and never counts
        assert server.get(action="getBalance", api_key="ypv_" + "0" * 64) == (200, "BAD_KEY")
        # another key is unaffected
        assert server.get(action="getBalance")[0] == 200
    finally:
        server.stop()


def test_sweeper_expires_rentals_nobody_polls(tmp_path, request):
    server = live_server(tmp_path, request, env={"YPV_EARLY_CANCEL_SECONDS": "0",
                                                 "YPV_RENTAL_TTL_SECONDS": "2"})
    try:
        before = server.balance()
        status, body = server.get(action="getNumber", service="tg", country=0)
        assert body.startswith("ACCESS_NUMBER:")
        assert server.balance() != before
        deadline = time.monotonic() + 10
        while server.balance() != before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server.balance() == before  # refunded by the sweeper: getBalance never touches rentals
        assert server.get(action="getStatus", id=body.split(":")[1]) == (200, "STATUS_CANCEL")
        assert server.cli("ledger", "check").stdout.strip() == "ledger check ok"
    finally:
        server.stop()


def test_demo_sms_arrives_after_the_configured_delay(tmp_path, request):
    server = live_server(tmp_path, request, env={"YPV_DEMO_SMS_DELAY_SECONDS": "1"})
    try:
        _, body = server.get(action="getNumber", service="wa", country=0)
        rental_id = body.split(":")[1]
        assert server.get(action="getStatus", id=rental_id) == (200, "STATUS_WAIT_CODE")
        deadline = time.monotonic() + 10
        while server.get(action="getStatus", id=rental_id)[1] == "STATUS_WAIT_CODE" and time.monotonic() < deadline:
            time.sleep(0.2)
        status = server.get(action="getStatus", id=rental_id)[1]
        assert re.fullmatch(r"STATUS_OK:\d{6}", status)
        full = server.get(action="getFullSms", id=rental_id)[1]
        assert full == f"FULL_SMS:Your WhatsApp code: {status[10:]}. Do not share it."
        assert server.get(action="setStatus", id=rental_id, status=3) == (200, "ACCESS_RETRY_GET")
        deadline = time.monotonic() + 10
        while server.get(action="getStatus", id=rental_id)[1].startswith("STATUS_WAIT_RETRY") \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        assert re.fullmatch(r"STATUS_OK:\d{6}", server.get(action="getStatus", id=rental_id)[1])
    finally:
        server.stop()


def test_no_key_in_anything_the_service_writes(tmp_path, request):
    server = live_server(tmp_path, request)
    try:
        key = server.api_key
        server.get(action="getBalance")
        server.get(action="getNumber", service="tg")
        server.get(action="nope")
        server.get(action="getStatus", id="x")
        requests.post(server.handler_url, data={"api_key": key, "action": "getBalance"})
        requests.get(server.handler_url, headers={"Authorization": f"ApiKey {key}"}, params={"action": "x"})
    finally:
        server.stop()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert server.log_path in written
    for path in written:  # logs, and the SQLite file with its WAL when that is the backend
        assert not KEY_PATTERN.search(path.read_bytes().decode("latin-1")), path
    assert "GET /stubs/handler_api.php HTTP/1.1\" 200" in server.log_path.read_text()
    db.open_database(server.database_url)
    with db.connection():
        for model in ALL_MODELS:
            for row in model.select().tuples():
                assert not any(KEY_PATTERN.search(str(value)) for value in row), model


def _worker_maps(server) -> str:
    workers = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    return Path(f"/proc/{workers[0]}/maps").read_text()


def test_a_sqlite_worker_does_not_load_the_postgresql_driver(tmp_path, request):
    """psycopg's wheel brings libpq and OpenSSL (11.6 MiB a worker); ypv/wsgi.py keeps them out on SQLite."""
    server = live_server(tmp_path, request)
    assert server.get(api_key=server.api_key, action="getBalance")[1].startswith("ACCESS_BALANCE:")
    assert ("libpq" in _worker_maps(server)) == server.database_url.startswith("postgres")


def test_the_dashboards_libraries_load_with_the_first_page_that_needs_them(tmp_path, request):
    """Jinja2 (with markupsafe's C part) and argon2-cffi: ~2.6 MiB a worker that only serves the API."""
    server = live_server(tmp_path, request)
    assert server.get(api_key=server.api_key, action="getBalance")[1].startswith("ACCESS_BALANCE:")
    maps = _worker_maps(server)
    assert "markupsafe" not in maps and "argon2" not in maps
    login = requests.get(f"{server.base_url}/login", timeout=30)
    assert login.status_code == 200 and "<form" in login.text
    assert "markupsafe" in _worker_maps(server)
    token = re.search(r'name="csrf" value="([^"]+)"', login.text)
    requests.post(f"{server.base_url}/login", data={"email": "nobody@example.com", "password": "x" * 12,
                                                    "csrf": token.group(1) if token else ""},
                  cookies=login.cookies, timeout=30)
    assert "argon2" in _worker_maps(server)
