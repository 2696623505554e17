"""A fault-injecting SMS-Activate-compatible upstream on 127.0.0.1, for reseller tests.

It sells numbers, keeps every activation it sold, and misbehaves on getNumber as
told: answer late (after selling), 5xx, an HTML page, garbage, sell and then drop
the connection, NO_BALANCE, BAD_KEY. Tests then check that nothing it sold is
left running unpaid and no customer paid for a number they did not get.
"""

import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PRICES = {"0": {"tg": 1.00, "wa": 2.00}, "187": {"tg": 3.00}}


class FakeUpstream:
    def __init__(self, key: str = "upstream-key", stock: int = 50, phone_base: int = 79990000000):
        self.key = key
        self.stock = stock
        self.phone_base = phone_base
        self.fault: str | None = None      # misbehaviour of getNumber
        self.delay = 0.0
        self.honour_order_id = True
        self.activations: dict = {}        # id -> {"phone", "status", "code", "order"}
        self.calls = Counter()
        self.balance = 10_000
        self._lock = threading.Lock()
        self._in_flight = 0
        self._next = 1000
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/stubs/handler_api.php"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every request received so far has been answered (or dropped)."""
        deadline = time.monotonic() + timeout
        while self._in_flight and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self._in_flight == 0, "the fake upstream is still busy"

    def running(self) -> set:
        """Activation ids still running (not cancelled, not finished)."""
        return {a for a, v in self.activations.items() if v["status"] in ("wait", "code", "retry")}

    def deliver(self, activation_id: str, code: str) -> None:
        with self._lock:
            self.activations[activation_id].update(status="code", code=code)

    # --- the protocol ---------------------------------------------------------------------

    def answer(self, params: dict) -> tuple[int, str, str | None]:
        """(HTTP status, body, special) for one request; special = 'drop' closes without answering."""
        action = params.get("action", "")
        self.calls[action] += 1
        if params.get("api_key") != self.key:
            return 200, "BAD_KEY", None
        handler = getattr(self, f"_do_{action}", None)
        if handler is None:
            return 200, "BAD_ACTION", None
        return handler(params)

    def _do_getBalance(self, p):
        return 200, f"ACCESS_BALANCE:{self.balance / 100:.2f}", None

    def _do_getCountries(self, p):
        return 200, json.dumps({"0": {"id": 0, "eng": "Russia", "rus": "Россия", "chn": "俄罗斯", "visible": 1},
                                "187": {"id": 187, "eng": "USA", "rus": "США", "chn": "美国", "visible": 1}}), None

    def _do_getServicesList(self, p):
        return 200, json.dumps({"status": "success", "services": [{"code": "tg", "name": "Telegram"},
                                                                  {"code": "wa", "name": "WhatsApp"}]}), None

    def _do_getPrices(self, p):
        return 200, json.dumps({c: {s: {"cost": cost, "count": self.stock} for s, cost in by.items()}
                                for c, by in PRICES.items()}), None

    def _do_getNumber(self, p):
        if self.fault in ("no_balance", "bad_key", "5xx_before", "refused_html"):
            return {"no_balance": (200, "NO_BALANCE", None), "bad_key": (200, "BAD_KEY", None),
                    "5xx_before": (502, "Bad Gateway", None),
                    "refused_html": (200, "<html><body>Maintenance</body></html>", None)}[self.fault]
        with self._lock:
            order = p.get("orderId") if self.honour_order_id else None
            existing = next((a for a, v in self.activations.items() if order and v["order"] == order), None)
            if existing is None:
                if self.stock <= 0:
                    return 200, "NO_NUMBERS", None
                self.stock -= 1
                existing = str(self._next)
                self._next += 1
                self.activations[existing] = {"phone": str(self.phone_base + self._next), "status": "wait",
                                              "code": None, "order": order}
            phone = self.activations[existing]["phone"]
        body = f"ACCESS_NUMBER:{existing}:{phone}"
        return {None: (200, body, None), "delay": (200, body, "delay"), "5xx": (500, "Internal Error", None),
                "html": (200, "<!DOCTYPE html><h1>502 Bad Gateway</h1>", None), "garbage": (200, "\x00\x01??", None),
                "drop": (200, body, "drop")}.get(self.fault, (200, body, None))

    def _activation(self, p):
        return self.activations.get(p.get("id", ""))

    def _do_getStatus(self, p):
        a = self._activation(p)
        if a is None:
            return 200, "NO_ACTIVATION", None
        return 200, {"wait": "STATUS_WAIT_CODE", "code": f"STATUS_OK:{a['code']}", "retry": f"STATUS_WAIT_RETRY:{a['code']}",
                     "done": f"STATUS_OK:{a['code']}", "cancel": "STATUS_CANCEL"}[a["status"]], None

    def _do_getFullSms(self, p):
        a = self._activation(p)
        return 200, (f"FULL_SMS:Your code is {a['code']}" if a and a["code"] else "STATUS_WAIT_CODE"), None

    def _do_setStatus(self, p):
        a = self._activation(p)
        if a is None:
            return 200, "NO_ACTIVATION", None
        status, state = p.get("status"), a["status"]
        with self._lock:
            if status == "8" and state == "wait":
                a["status"] = "cancel"
                return 200, "ACCESS_CANCEL", None
            if status == "3" and state == "code":
                a["status"] = "retry"
                return 200, "ACCESS_RETRY_GET", None
            if status == "6" and state in ("code", "retry", "done"):
                a["status"] = "done"
                return 200, "ACCESS_ACTIVATION", None
            if status == "1" and state == "wait":
                return 200, "ACCESS_READY", None
        return 200, "BAD_STATUS", None

    def _do_getActiveActivations(self, p):
        items = [{"activationId": a, "phoneNumber": v["phone"], "activationStatus": "4"}
                 for a, v in self.activations.items() if v["status"] in ("wait", "code", "retry")]
        return 200, json.dumps({"status": "success", "activeActivations": items}), None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with fake._lock:
                    fake._in_flight += 1
                try:
                    self._answer()
                finally:
                    with fake._lock:
                        fake._in_flight -= 1

            def _answer(self):
                params = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
                status, body, special = fake.answer(params)
                if special == "drop":
                    self.connection.close()  # sold, but the buyer never hears of it
                    return
                if special == "delay":
                    time.sleep(fake.delay)
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the buyer gave up waiting

            def log_message(self, *args):
                pass

        return Handler
