"""Bad input on every action: missing, empty, garbage, huge, repeated and non-UTF-8 parameters.

Every answer must be HTTP 200 with a protocol token (or well-formed JSON): never a
5xx, an HTML page, a traceback or ERROR_SQL. The matrix is every action in
``ypv.actions.ACTIONS`` plus an unknown one × every parameter that action reads ×
three transports (GET; POST with a form body; POST with everything in the query
string, an empty body and ``application/octet-stream``, as aiosmsactivate sends).
One test per (action, parameter, transport); the ~14 value variants run inside it
and every wrong answer is reported at once.

Runs on SQLite, and on PostgreSQL when YPV_TEST_POSTGRES_URL is set.
"""

import json
import re
import socket
import threading
from urllib.parse import quote

import pytest

from ypv import db, wallet
from ypv.actions import ACTIONS, JSON_ACTIONS
from ypv.demo import add_numbers

TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"
HANDLER = "/stubs/handler_api.php"
UNKNOWN = "noSuchAction"

# Parameters each action reads (from ypv/actions.py, ypv/catalog_actions.py and ypv/params.py);
# api_key and action are read by every request.
ACTION_PARAMS = {
    "getBalance": (),
    "getBalanceAndCashBack": (),
    "getNumber": ("service", "country", "operator", "maxPrice", "phoneException", "orderId"),
    "getNumberV2": ("service", "country", "operator", "maxPrice", "phoneException", "orderId"),
    "getStatus": ("id",),
    "getStatusV2": ("id",),
    "getFullSms": ("id",),
    "setStatus": ("id", "status"),
    "getActiveActivations": (),
    "getServicesList": ("country",),
    "getCountries": (),
    "getPrices": ("service", "country"),
    "getNumbersStatus": ("country", "operator"),
    "getTopCountriesByService": ("service", "freePrice"),
    "getOperators": ("country",),
    UNKNOWN: (),
}
ACTIVATION_ACTIONS = ("getStatus", "getStatusV2", "getFullSms", "setStatus")
# Actions whose every answer is a plain token (the others may answer JSON).
TEXT_ONLY_ACTIONS = ("getBalance", "getBalanceAndCashBack", "getNumber", "getStatus", "getFullSms", "setStatus",
                     UNKNOWN)

# A valid value for each parameter: the baseline the other parameters keep while one is
# varied, and the valid half of the "repeated" variants. "{rental}" is the test's activation.
VALID = {"service": "tg", "country": "0", "operator": "mts", "maxPrice": "5", "phoneException": "7918",
         "orderId": "order-1", "freePrice": "true", "id": "{rental}", "status": "8"}
BASELINE = {
    "getNumber": ("service", "country"),
    "getNumberV2": ("service", "country"),
    "getStatus": ("id",),
    "getStatusV2": ("id",),
    "getFullSms": ("id",),
    "setStatus": ("id", "status"),
}

SQL = "'; DROP TABLE x;--"


def _enc(value: str) -> bytes:
    return quote(value, safe="").encode("ascii")


# variant name -> the raw (already encoded) values sent for the parameter; [] = not sent.
# b"VALID" is replaced by the parameter's valid value.
VARIANTS = {
    "missing": [],
    "empty": [b""],
    "sql": [_enc(SQL)],
    "literal_pct00": [_enc("%00")],
    "nul": [b"%00"],
    "emoji": [_enc("😀🔥")],
    "nan": [b"NaN"],
    "1e309": [b"1e309"],
    "minus_zero": [b"-0"],
    "huge": [b"9" * 102_400],
    "repeated": [b"VALID", _enc(SQL)],
    "repeated_valid_last": [_enc(SQL), b"VALID"],
    "pct_ff_fe": [b"%ff%fe"],
    "raw_ff_fe": [b"\xff\xfe"],
}

ERROR_TOKENS = ("BAD_KEY", "BAD_ACTION", "BAD_SCOPE", "BAD_SERVICE", "BAD_COUNTRY", "BAD_STATUS", "NO_NUMBERS",
                "NO_BALANCE", "ORDER_ALREADY_EXISTS", "WRONG_ACTIVATION_ID", "NO_ACTIVATION",
                "EARLY_CANCEL_DENIED")
TOKEN_SHAPE = re.compile(r"^[A-Z_]+(:[0-9A-Za-z.:\-]+)?$")
KNOWN_TOKEN = re.compile(
    r"^(?:ACCESS_BALANCE:\d+\.\d\d|ACCESS_NUMBER:\d+:\d+|ACCESS_(?:READY|RETRY_GET|ACTIVATION|CANCEL)"
    r"|STATUS_(?:WAIT_CODE|CANCEL)|STATUS_(?:OK|WAIT_RETRY):\d+|WRONG_MAX_PRICE:\d+\.\d\d|"
    + "|".join(ERROR_TOKENS) + ")$"
)


def expected_token(action: str, param: str, variant: str) -> str | None:
    """The one answer the protocol fixes for this bad value, or None where several are right."""
    if variant == "repeated_valid_last":
        return None  # the last value wins and is valid: any success or state-dependent answer
    if param == "api_key":
        return "BAD_KEY"
    if param == "action":
        return "BAD_ACTION"
    if param == "id":
        return "WRONG_ACTIVATION_ID"
    if param == "status":
        return "BAD_STATUS"
    if variant in ("missing", "empty"):
        # a required service; everything else is optional
        return "BAD_SERVICE" if param == "service" and action in ("getNumber", "getNumberV2") else None
    if param == "service":
        return "BAD_SERVICE"
    if param == "country":
        return "BAD_COUNTRY"
    if param == "maxPrice":
        return "WRONG_MAX_PRICE:1.50"  # a malformed maxPrice is below every price (tg costs 1.50)
    return None


def rendered(action: str, token: str) -> tuple[str, str]:
    if action in JSON_ACTIONS and token != "BAD_ACTION":
        return JSON, json.dumps({"status": "error", "error": token}, separators=(",", ":"))
    return TEXT, token


def problems_with(status: int, ctype: str | None, body: str, action: str, param: str) -> list[str]:
    """Everything wrong with one answer, as short descriptions (empty = fine)."""
    problems = []
    if status != 200:
        problems.append(f"HTTP {status}")
    if "Traceback" in body or "<html" in body.lower() or "ERROR_SQL" in body:
        problems.append("traceback/HTML/ERROR_SQL")
    if ctype == TEXT:
        if not TOKEN_SHAPE.match(body) or not KNOWN_TOKEN.match(body):
            problems.append("not a known token")
        elif action in JSON_ACTIONS and param != "action":
            problems.append("plain token from a JSON action")
    elif ctype == JSON:
        try:
            parsed = json.loads(body)
        except ValueError:
            return problems + ["JSON that does not parse"]
        if action in TEXT_ONLY_ACTIONS:
            problems.append("JSON from a plain-token action")
        if isinstance(parsed, dict) and parsed.get("status") == "error":
            if parsed != {"status": "error", "error": parsed.get("error")} or parsed["error"] not in ERROR_TOKENS:
                problems.append("malformed JSON error")
    else:
        problems.append(f"content type {ctype!r}")
    return problems


def _post(client, query: bytes, body: bytes, content_type: str):
    """A POST with exactly these bytes (WebTest's post() would re-parse the body)."""
    url = f"{HANDLER}?{query.decode('latin-1')}" if query else HANDLER
    return client.request(url, method="POST", body=body, headers={"Content-Type": content_type},
                          expect_errors=True)


def send(client, method: str, pairs: list[tuple[bytes, bytes]]):
    """One request with exactly these raw (already encoded) name=value pairs."""
    raw = b"&".join(name + b"=" + value for name, value in pairs)
    if method == "GET":
        resp = client.get(f"{HANDLER}?{raw.decode('latin-1')}", expect_errors=True)
    elif method == "POST-form":
        resp = _post(client, b"", raw, "application/x-www-form-urlencoded")
    else:  # POST-query: aiosmsactivate's shape
        resp = _post(client, raw, b"", "application/octet-stream")
    return resp.status_int, resp.headers.get("Content-Type"), resp.body.decode("utf-8", "replace")


def _rent(client, seed) -> str:
    """One waiting activation on the seed account, old enough to be cancelled."""
    status, _, body = send(client, "GET", [(b"api_key", seed.key.encode()), (b"action", b"getNumber"),
                                           (b"service", b"tg"), (b"country", b"0")])
    assert (status, body) == (200, "ACCESS_NUMBER:1:79000000001")
    seed.clock.advance(121)
    return "1"


MATRIX = [(action, param) for action, params in ACTION_PARAMS.items()
          for param in ("api_key", "action") + params]
METHODS = ("GET", "POST-form", "POST-query")


def test_the_matrix_covers_every_action():
    assert set(ACTION_PARAMS) == set(ACTIONS) | {UNKNOWN}
    assert UNKNOWN not in ACTIONS
    assert len(MATRIX) == 57


@pytest.mark.parametrize("action,param", MATRIX)
def test_bad_parameter_answers_a_protocol_token(client, seed, action, param):
    rental = _rent(client, seed) if action in ACTIVATION_ACTIONS else None
    if action in ("getNumber", "getNumberV2"):  # enough stock that every variant can really buy
        with db.connection():
            add_numbers([{"phone": f"7901{i:07d}", "country": 0, "operator": "mts"} for i in range(50)],
                        int(seed.clock()))
    valid = {**VALID, "api_key": seed.key, "action": action, "id": rental or "1"}
    failures = []
    for method in METHODS:
        for variant, values in VARIANTS.items():
            pairs = [(name.encode(), _enc(valid[name]))
                     for name in ("api_key", "action") + BASELINE.get(action, ()) if name != param]
            pairs += [(param.encode(), _enc(valid[param]) if v == b"VALID" else v) for v in values]
            status, ctype, body = send(client, method, pairs)
            found = problems_with(status, ctype, body, action, param)
            token = expected_token(action, param, variant)
            if token is not None and (ctype, body) != rendered(action, token):
                found.append(f"expected {rendered(action, token)[1]}")
            if found:
                failures.append(f"{method} {param}={variant}: {status} {ctype} {body[:120]!r}: {'; '.join(found)}")
    with db.connection():
        mismatches = wallet.ledger_mismatches()
    assert (failures, mismatches) == ([], [])


def test_money_actually_moved_in_the_money_cases(client, seed):
    """Guards the ledger assertions above against testing nothing: purchases and a refund happen."""
    rental = _rent(client, seed)
    key = seed.key.encode()
    assert send(client, "POST-query", [(b"api_key", key), (b"action", b"setStatus"), (b"id", rental.encode()),
                                       (b"status", _enc(SQL)), (b"status", b"8")])[2] == "ACCESS_CANCEL"
    assert send(client, "GET", [(b"api_key", key), (b"action", b"getNumber"), (b"service", b"tg"),
                                (b"orderId", b"\xff\xfe")])[2] == "ACCESS_NUMBER:2:79000000002"
    assert send(client, "POST-form", [(b"api_key", key), (b"action", b"getNumber"), (b"service", b"tg"),
                                      (b"orderId", b"%ff%fe")])[2] == "ACCESS_NUMBER:2:79000000002"
    assert send(client, "GET", [(b"api_key", key), (b"action", b"getBalance")])[2] == "ACCESS_BALANCE:98.50"
    with db.connection():
        assert wallet.ledger_mismatches() == []


JUNK = [b"\xff\xfe=1", b"%ff=%fe", b"=", b"&&&", b"==&==", b"api_key", b"action", b"%", b"%%%",
        b"a=" + b"%" * 100_000, b"&".join(b"p%d=%d" % (i, i) for i in range(20_000))]


@pytest.mark.parametrize("method", METHODS)
def test_junk_around_a_valid_request_is_ignored(client, seed, method):
    """Junk names and shapes before a good api_key/action do not change the answer."""
    good = b"api_key=" + seed.key.encode() + b"&action=getBalance"
    answers = []
    for raw in JUNK:
        if method == "GET":
            resp = client.get(f"{HANDLER}?{(raw + b'&' + good).decode('latin-1')}", expect_errors=True)
        elif method == "POST-form":  # the body is read up to 64 KB: keep the junk short enough
            resp = _post(client, b"", raw[:30_000] + b"&" + good, "application/x-www-form-urlencoded")
        else:
            resp = _post(client, raw + b"&" + good, b"", "application/octet-stream")
        answers.append((raw[:12], resp.status_int, resp.headers["Content-Type"], resp.body))
    assert answers == [(raw[:12], 200, TEXT, b"ACCESS_BALANCE:100.00") for raw in JUNK]


def test_garbage_authorization_header_is_bad_key(client, seed):
    headers = ["ApiKey", "ApiKey ", "ApiKey \xff\xfe", "ApiKey ypv_" + "f" * 64, "Bearer " + seed.key,
               "ApiKey " + seed.key + "\xff", "ApiKey " + "9" * 100_000]
    answers = []
    for header in headers:
        resp = client.get(HANDLER, params={"action": "getBalance"}, headers={"Authorization": header},
                          expect_errors=True)
        answers.append((header[:20], resp.status_int, resp.headers["Content-Type"], resp.body))
    assert answers == [(header[:20], 200, TEXT, b"BAD_KEY") for header in headers]


def test_odd_content_types_on_post(client, seed):
    """Parameters in the query string always work, whatever the body claims to be."""
    types = ["application/x-www-form-urlencoded; charset=latin-1", "application/x-www-form-urlencoded; charset=\xff",
             "multipart/form-data; boundary=x", "text/plain", "\xff\xfe", ""]
    answers = []
    for content_type in types:
        resp = _post(client, f"api_key={seed.key}&action=getBalance".encode(),
                     b"api_key=x&action=y\xff\xfe--x\r\n", content_type)
        answers.append((content_type, resp.status_int, resp.headers["Content-Type"], resp.body))
    assert answers == [(t, 200, TEXT, b"ACCESS_BALANCE:100.00") for t in types]


# --- a real gunicorn, raw sockets -------------------------------------------------------------

def _exchange(port: int, request: bytes, half_close: bool = False, timeout: float = 20) -> tuple[int, dict, bytes]:
    """Send raw bytes (from a thread, so a server that answers early cannot dead-lock us) and read
    one HTTP response; (0, {}, b"") when the server closed without answering."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)

    def writer():
        try:
            sock.sendall(request)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server may answer and close before reading everything

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head:
            return 0, {}, b""
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return status, headers, body
    finally:
        thread.join(timeout)
        sock.close()


def _problem(name: str, answer, expected: tuple | None) -> list[str]:
    """[] if the answer is a protocol answer (200, a plain token in ``expected`` when given), else a description."""
    status, headers, body = answer
    ok = (status != 0 and status < 500 and b"<html" not in body.lower() and b"Traceback" not in body
          and "html" not in headers.get("content-type", ""))
    if expected is not None:
        ok = ok and status == 200 and headers.get("content-type") == TEXT and body in expected
    return [] if ok else [f"{name}: HTTP {status} {headers.get('content-type')!r} {body[:80]!r}"]


def test_live_server_survives_nasty_raw_requests(ypv_server):
    port, key = ypv_server.port, ypv_server.api_key.encode()
    host = b"Host: 127.0.0.1\r\n"
    close = b"Connection: close\r\n\r\n"
    target = HANDLER.encode()
    good = b"api_key=" + key + b"&action=getBalance"
    balance = (b"ACCESS_BALANCE:1000.00",)
    failures = []

    # a 200 KB query string: the junk parameter is ignored
    line = b"GET " + target + b"?" + good + b"&pad=" + b"x" * 200_000 + b" HTTP/1.1\r\n"
    failures += _problem("200 KB query", _exchange(port, line + host + close), balance)

    # invalid percent-encoding in an ignored parameter, then in the key itself
    line = b"GET " + target + b"?" + good + b"&x=%zz%&y=%f%%41 HTTP/1.1\r\n"
    failures += _problem("bad %-escapes", _exchange(port, line + host + close), balance)
    line = b"GET " + target + b"?api_key=%zz" + key + b"&action=getBalance HTTP/1.1\r\n"
    failures += _problem("bad %-escape in key", _exchange(port, line + host + close), (b"BAD_KEY",))

    # raw 0xff bytes in the request line are not HTTP: gunicorn cannot parse it, and ypv's worker
    # answers as the protocol answers any request whose key cannot be read (ypv/gunicorn_worker.py)
    line = b"GET " + target + b"?" + good + b"&x=\xff\xfe\xff HTTP/1.1\r\n"
    failures += _problem("raw 0xff in request line", _exchange(port, line + host + close), (b"BAD_KEY",))

    # a 1 MB form body (keep-alive, so the server drains it rather than resetting the connection)
    body = good + b"&pad=" + b"y" * (1024 * 1024)
    post = (b"POST " + target + b" HTTP/1.1\r\n" + host
            + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    failures += _problem("1 MB form body", _exchange(port, post), balance)

    # Content-Length larger than the body: half-close (the server sees EOF early), then a hard close
    short = (b"POST " + target + b" HTTP/1.1\r\n" + host
             + b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n" + good)
    answer = _exchange(port, short, half_close=True)
    if answer[0]:  # answering or just closing are both fine; an error page is not
        failures += _problem("short body, half-closed", answer, None)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(short)

    # still serving, and nothing above became an unexpected failure
    assert ypv_server.get(action="getBalance") == (200, "ACCESS_BALANCE:1000.00")
    ypv_server.stop()
    log = ypv_server.log_path.read_text(errors="replace")
    assert "Traceback" not in log and "ERROR_SQL" not in log, log[-3000:]
    assert failures == []
