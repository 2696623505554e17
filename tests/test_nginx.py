"""The shipped nginx config (deploy/nginx/ypv.conf), run by Debian's nginx in front of real gunicorns.

nginx runs in the foreground as a child of the test, on free 127.0.0.1 ports, with
its prefix, pid, temp files and logs in tmp (ypv/testing_nginx.py). Every test
ends by checking that no file nginx or gunicorn wrote contains a key.
"""

import http.client
import re
import secrets
import ssl
import threading
import time
from collections import Counter

import requests

from tests.conftest import KEY_PATTERN, _stop_and_check_secrets, live_server
from ypv.testing import YpvServer
from ypv.testing_nginx import NginxProxy

TEXT = "text/plain; charset=utf-8"


def _start_nginx(workdir, ports, request) -> NginxProxy:
    proxy = NginxProxy(workdir, ports)
    request.addfinalizer(lambda: _stop_and_check_nginx(proxy))
    return proxy.start()


def _stop_and_check_nginx(proxy: NginxProxy) -> None:
    proxy.stop()
    written = proxy.written_files()
    assert proxy.access_log in written
    for path in written:
        assert not KEY_PATTERN.search(path.read_bytes().decode("latin-1")), f"a key leaked into {path}"


def _session(nginx: NginxProxy) -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE (or a proxy) from the environment would win
    session.verify = str(nginx.cert)  # the test's self-signed certificate for 127.0.0.1
    return session


def _log_line(path, rid: str, marker: str) -> str:
    """The line of a log with this request id and marker (logs are written as requests end)."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = [line for line in path.read_text().splitlines() if f"rid={rid}" in line and marker in line]
        if lines:
            return lines[0]
        time.sleep(0.05)
    raise AssertionError(f"rid={rid} not in {path}")


def test_a_whole_rental_through_nginx(tmp_path, request):
    server = live_server(tmp_path, request, env={"YPV_EARLY_CANCEL_SECONDS": "0"})
    nginx = _start_nginx(tmp_path / "nginx", [server.port], request)
    http = _session(nginx)

    def call(**params):
        answer = http.get(nginx.handler_url, params={"api_key": server.api_key, **params})
        return answer.status_code, answer.headers["Content-Type"], answer.text

    assert call(action="getBalance") == (200, TEXT, "ACCESS_BALANCE:1000.00")
    status, _, bought = call(action="getNumber", service="tg", country="0")
    _, rental_id, phone = bought.split(":")
    assert call(action="getStatus", id=rental_id) == (200, TEXT, "STATUS_WAIT_CODE")
    server.cli("sms", "deliver", phone, "Your Telegram code: 51234")
    assert call(action="getStatus", id=rental_id) == (200, TEXT, "STATUS_OK:51234")
    assert call(action="setStatus", id=rental_id, status="6") == (200, TEXT, "ACCESS_ACTIVATION")
    balance = server.get(action="getBalance")[1]  # straight to gunicorn
    assert balance.startswith("ACCESS_BALANCE:") and balance != "ACCESS_BALANCE:1000.00"
    by_header = http.get(nginx.handler_url, params={"action": "getBalance"},
                         headers={"Authorization": f"ApiKey {server.api_key}"})
    by_form = http.post(nginx.handler_url, data={"api_key": server.api_key, "action": "getBalance"})
    assert (by_header.text, by_form.text) == (balance, balance)

    access_log = nginx.access_log.read_text()
    for action in ("getBalance", "getNumber", "getStatus", "setStatus"):
        assert f'"GET /stubs/handler_api.php HTTP/1.1" action={action} 200 ' in access_log
    assert f"action=getNumber token=ACCESS_NUMBER key={server.api_key[:16]} status=200" in server.log_path.read_text()


def test_ypv_429_and_retry_after_pass_through_unchanged(tmp_path, request):
    server = live_server(tmp_path, request)
    nginx = _start_nginx(tmp_path / "nginx", [server.port], request)
    key = server.cli("key", "issue", "demo@ypv.local", "--limit", "3").stdout.strip()
    http = _session(nginx)
    answers = [http.get(nginx.handler_url, params={"api_key": key, "action": "getBalance"}) for _ in range(4)]
    assert [(a.status_code, a.text) for a in answers] == [(200, "ACCESS_BALANCE:1000.00")] * 3 + [
        (429, "TOO_MANY_REQUESTS")]
    direct = requests.get(server.handler_url, params={"api_key": key, "action": "getBalance"})
    proxied = answers[3]
    assert (direct.status_code, direct.content) == (proxied.status_code, proxied.content)
    for header in ("Content-Type", "Content-Length"):
        assert proxied.headers[header] == direct.headers[header]
    assert proxied.headers["Content-Type"] == TEXT
    assert 58 <= int(proxied.headers["Retry-After"]) <= 60
    assert abs(int(proxied.headers["Retry-After"]) - int(direct.headers["Retry-After"])) <= 1


def test_client_address_request_id_and_private_endpoints(tmp_path, request):
    server = live_server(tmp_path, request)
    nginx = _start_nginx(tmp_path / "nginx", [server.port], request)
    http = _session(nginx)
    spoofed = http.get(nginx.handler_url, params={"api_key": server.api_key, "action": "getBalance"},
                       headers={"X-Forwarded-For": "6.6.6.6", "X-Request-Id": "f" * 32})
    rid = spoofed.headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid) and rid != "f" * 32  # nginx's own $request_id
    # nginx replaced the client's X-Forwarded-For, so ypv logs the address nginx saw
    assert f"rid={rid} client=127.0.0.1 method=GET" in _log_line(server.log_path, rid, "client=")
    assert _log_line(nginx.access_log, rid, "upstream=").startswith('127.0.0.1 [')
    for path in ("/metrics", "/metrics/", "/healthz", "/HEALTHZ", "//metrics"):
        assert http.get(nginx.https_url + path).status_code == 404, path
    assert requests.get(f"{server.base_url}/healthz").text == '{"status":"ok","database":"ok","sweeper":"ok"}'
    assert "ypv_requests_total" in requests.get(f"{server.base_url}/metrics").text
    plain = requests.get(f"{nginx.http_url}/stubs/handler_api.php", allow_redirects=False)
    assert (plain.status_code, plain.headers["Location"]) == (301, "https://127.0.0.1/stubs/handler_api.php")


def _flood(nginx: NginxProxy, results: list, stop: threading.Event) -> None:
    """Bad keys as fast as one connection goes, from 127.0.0.2 (loopback 127.0.0.1 is exempt)."""
    context = ssl.create_default_context(cafile=str(nginx.cert))
    connection = http.client.HTTPSConnection("127.0.0.1", nginx.https_port, source_address=("127.0.0.2", 0),
                                             context=context, timeout=30)
    for _ in range(600):
        if stop.is_set():
            break
        connection.request("GET", f"/stubs/handler_api.php?action=getBalance&api_key=ypv_{secrets.token_hex(32)}")
        response = connection.getresponse()
        results.append((response.status, response.getheader("Content-Type"), response.getheader("Retry-After"),
                        response.read()))
        if response.status == 429:
            stop.set()
    connection.close()


def test_a_flood_of_bad_keys_from_one_address_is_cut_by_nginx(tmp_path, request):
    server = live_server(tmp_path, request)
    nginx = _start_nginx(tmp_path / "nginx", [server.port], request)
    results, stop = [], threading.Event()
    threads = [threading.Thread(target=_flood, args=(nginx, results, stop)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    outcomes = Counter(results)
    assert set(outcomes) == {(200, TEXT, None, b"BAD_KEY"), (429, TEXT, "1", b"TOO_MANY_REQUESTS")}
    assert outcomes[(200, TEXT, None, b"BAD_KEY")] >= 200  # the burst passes before anything is refused
    # loopback is not limited: the operator's own checks still get through at once
    assert _session(nginx).get(nginx.handler_url, params={"action": "getBalance"}).text == "BAD_KEY"


def _instance_of(rid: str, servers: list) -> int:
    """Which instance answered a request, from its ypv.request log line."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for index, server in enumerate(servers):
            if f"rid={rid}" in server.log_path.read_text():
                return index
        time.sleep(0.05)
    raise AssertionError(f"no instance logged rid={rid}")


def _one_key_per_instance(servers: list, nginx: NginxProxy, http) -> dict:
    """Issue 600/min keys until each instance has one; each probe is the key's first request."""
    found = {}
    for _ in range(20):
        key = servers[0].cli("key", "issue", "demo@ypv.local", "--limit", "600").stdout.strip()
        probe = http.get(nginx.handler_url, params={"api_key": key, "action": "getBalance"})
        assert probe.status_code == 200
        found.setdefault(_instance_of(probe.headers["X-Request-Id"], servers), (key, time.monotonic()))
        if len(found) == len(servers):
            return found
    raise AssertionError("twenty keys all hashed to one instance")


def test_two_instances_each_key_stays_on_its_instance_and_its_601st_request_gets_429(tmp_path, request):
    url = request.getfixturevalue("database_url")
    servers = [YpvServer(tmp_path / name, database_url=url) for name in ("first", "second")]
    for server in servers:
        request.addfinalizer(lambda s=server: _stop_and_check_secrets(s))
    servers[0].start()
    servers[1].start(demo=False)
    nginx = _start_nginx(tmp_path / "nginx", [s.port for s in servers], request)
    http = _session(nginx)
    for instance, (key, first_request_at) in _one_key_per_instance(servers, nginx, http).items():
        answers = []
        for i in range(1, 601):  # the probe was request 1; alternate the two ways to send a key
            if i % 2:
                answers.append(http.get(nginx.handler_url, params={"action": "getBalance"},
                                        headers={"Authorization": f"ApiKey {key}"}))
            else:
                answers.append(http.get(nginx.handler_url, params={"api_key": key, "action": "getBalance"}))
        assert time.monotonic() - first_request_at < 55
        assert Counter(a.status_code for a in answers[:599]) == {200: 599}
        last = answers[599]
        assert (last.status_code, last.headers["Content-Type"], last.text) == (429, TEXT, "TOO_MANY_REQUESTS")
        assert 1 <= int(last.headers["Retry-After"]) <= 60
        lines = [server.log_path.read_text().count(f"key={key[:16]} ") for server in servers]
        assert lines[instance] == 601 and lines[1 - instance] == 0, lines
