"""One log line and one set of metric updates per request, in one place.

The handler resource only records what happened on ``req.context`` (``action``,
``token``, ``key_prefix``); this middleware gives every request an id, times it,
works out the client's address, writes the line and updates the metrics.

The client address comes from ``X-Forwarded-For`` only when the request arrived
from a trusted proxy (``YPV_TRUSTED_PROXIES``, default loopback: nginx on the same
box). Anyone else could write any address into that header.
"""

import ipaddress
import logging
import random
import re
import time

from ypv import logs
from ypv.health import Health
from ypv.metrics import Metrics, MetricsResource

log = logging.getLogger("ypv.request")

_PROXY_REQUEST_ID = re.compile(r"^[0-9a-f]{16,32}$")  # nginx's $request_id is 32 hex digits
_KEY_TAIL = re.compile(r"(ypv_[0-9a-f]{12})[0-9a-f]+")


class TrustedProxies:
    MEMO_SIZE = 4096  # addresses remembered; parsing one with ipaddress costs more than a 429's whole lookup

    def __init__(self, networks):
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)
        self._memo: dict[str, bool] = {}

    def __contains__(self, address: str | None) -> bool:
        known = self._memo.get(address)
        if known is None:
            known = self._is_trusted(address)
            if len(self._memo) >= self.MEMO_SIZE:
                self._memo.clear()  # bounded whatever addresses clients send; refilled in a few requests
            self._memo[address] = known
        return known

    def _is_trusted(self, address: str | None) -> bool:
        try:
            ip = ipaddress.ip_address(address or "")
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client_address(self, remote_addr: str, forwarded_for: str | None) -> str:
        """The nearest address that is not one of our proxies, walking X-Forwarded-For right to left."""
        address = remote_addr
        hops = [h.strip() for h in (forwarded_for or "").split(",") if h.strip()]
        while address in self and hops:
            address = hops.pop()
        return address


def scrub(text: str) -> str:
    """Cut anything shaped like a key down to its prefix: a path is client input."""
    return _KEY_TAIL.sub(r"\1…", text) if "ypv_" in text else text  # the search costs more than the test


class RequestObserver:
    """Falcon middleware: request id, client address, the request's log line, its metrics."""

    def __init__(self, metrics: Metrics, trusted_proxies):
        self.metrics = metrics
        self.proxies = TrustedProxies(trusted_proxies)

    def process_request(self, req, resp) -> None:
        req.context.started = time.perf_counter()
        remote = req.remote_addr
        from_proxy = remote in self.proxies
        req.context.client = self.proxies.client_address(remote, req.get_header("X-Forwarded-For"))
        inbound = req.get_header("X-Request-Id") or ""
        trusted_id = from_proxy and _PROXY_REQUEST_ID.match(inbound)
        # Not os.urandom: its system call lets go of the GIL, and under load winning it back costs
        # more than the whole id. A request id correlates log lines; it guards nothing.
        req.context.request_id = inbound if trusted_id else f"{random.getrandbits(64):016x}"
        resp.set_header("X-Request-Id", req.context.request_id)

    def process_response(self, req, resp, resource, req_succeeded) -> None:
        seconds = time.perf_counter() - req.context.started
        ctx = req.context
        action, token = ctx.get("action"), ctx.get("token")
        if action is not None:
            self.metrics.observe_request(action, token or "-", seconds)
        fields = {
            "rid": ctx.request_id, "client": ctx.client, "method": req.method, "path": scrub(req.path[:200]),
            "action": action or "-", "token": token or "-", "key": ctx.get("key_prefix") or "-",
            "status": resp.status_code, "ms": round(seconds * 1000, 1),
        }
        logs.log_fields(log, fields)


def install(app) -> None:
    """Add the middleware, /healthz and /metrics to a built app (after its sweeper exists)."""
    app.metrics = Metrics(sweeper=app.sweeper)
    app.add_middleware(RequestObserver(app.metrics, app.config.trusted_proxies))
    app.add_route("/healthz", Health(app.sweeper, app.config.sweeper_interval_seconds))
    app.add_route("/metrics", MetricsResource(app.metrics))
