"""``GET /metrics``: Prometheus text format, one registry per app.

Per-process series (requests, latency, limiter rejections) are counted as
requests pass. Business series (rentals by state, sales, refunds) are read from
the database at scrape time and cached briefly, so they are exact across every
instance and restart, and a scrape every few seconds costs at most one query
pair per cache period. With N instances, scrape each one: request series add
up; database series are the same on every instance (use ``max``, not ``sum``).
"""

import logging
import threading
import time

from peewee import fn
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from ypv import db
from ypv.models import RENTAL_STATES, Ledger, Rental

log = logging.getLogger(__name__)

# Handler latency is milliseconds when healthy; the tail buckets catch lock waits.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, sweeper=None, cache_seconds: float = 5.0):
        self.registry = CollectorRegistry()
        self.requests = Counter("ypv_requests", "Handler requests by action and outcome token",
                                ["action", "token"], registry=self.registry)
        self.latency = Histogram("ypv_request_duration_seconds", "Handler request latency by action",
                                 ["action"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.rejections = Counter("ypv_limiter_rejections", "Requests refused by the per-key limiter (HTTP 429)",
                                  registry=self.registry)
        if sweeper is not None:
            Gauge("ypv_sweeper_last_run_timestamp_seconds", "When the sweeper last finished a sweep",
                  registry=self.registry).set_function(lambda: sweeper.last_run or 0)
        self.registry.register(DatabaseCollector(cache_seconds))
        # The series of one label set, found once: labels() takes a lock and checks its
        # arguments on every call. Actions and tokens are bounded sets (ypv/api.py).
        self._series: dict[tuple, tuple] = {}

    def observe_request(self, action: str, token: str, seconds: float) -> None:
        series = self._series.get((action, token))
        if series is None:
            series = self._series[(action, token)] = (self.requests.labels(action, token),
                                                      self.latency.labels(action))
        requests, latency = series
        requests.inc()
        latency.observe(seconds)
        if token == "TOO_MANY_REQUESTS":
            self.rejections.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector:
    """Rentals by state, sales and refunds, from the database, cached for ``cache_seconds``."""

    def __init__(self, cache_seconds: float, clock=time.monotonic):
        self.cache_seconds = cache_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, list] | None = None

    def describe(self):
        return []  # families are built at scrape time; nothing to check at registration

    def collect(self):
        with self._lock:
            if self._cached is None or self.clock() - self._cached[0] >= self.cache_seconds:
                self._cached = (self.clock(), self._families())
            return list(self._cached[1])

    def _families(self) -> list:
        try:
            with db.connection():
                states = dict(Rental.select(Rental.state, fn.COUNT(Rental.id)).group_by(Rental.state).tuples())
                ledger = {kind: (count, total) for kind, count, total in Ledger.select(
                    Ledger.kind, fn.COUNT(Ledger.id), fn.COALESCE(fn.SUM(Ledger.amount), 0))
                    .where(Ledger.kind.in_(("charge", "refund"))).group_by(Ledger.kind).tuples()}
        except Exception:  # a scrape must still show the process series when the database is down
            log.exception("metrics: database query failed")
            return []
        rentals = GaugeMetricFamily("ypv_rentals", "Rentals by state", labels=["state"])
        for state in RENTAL_STATES:
            rentals.add_metric([state], states.get(state, 0))
        sales, sold = ledger.get("charge", (0, 0))
        refunds, refunded = ledger.get("refund", (0, 0))
        return [
            rentals,
            CounterMetricFamily("ypv_sales", "Numbers sold (one charge each)", value=sales),
            CounterMetricFamily("ypv_sales_amount_minor_units", "Money charged, minor units", value=-int(sold)),
            CounterMetricFamily("ypv_refunds", "Rentals refunded", value=refunds),
            CounterMetricFamily("ypv_refunds_amount_minor_units", "Money refunded, minor units", value=int(refunded)),
        ]


class MetricsResource:
    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def on_get(self, req, resp) -> None:
        resp.content_type = CONTENT_TYPE_LATEST
        resp.data = self.metrics.render()
