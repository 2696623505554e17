"""The upstream worker thread: catalog sync on a schedule, polling and expiry of live
upstream rentals, crash recovery of stuck purchases, and orphan reconciliation.

It runs beside the sweeper (not inside it) because every step here waits on the
network, and local expiry must stay on time whatever an upstream is doing.
"""

import logging
import time

from ypv import db
from ypv.background import Loop
from ypv.config import Config
from ypv.upstream import buying, orphans, registry, sync, tracking

log = logging.getLogger(__name__)


def run_once(config: Config, now: int, synced_at: dict) -> None:
    with db.connection():
        upstreams = registry.by_priority()
        if not upstreams:
            return
        for upstream in upstreams:
            if now - synced_at.get(upstream.id, 0) >= config.upstream_sync_seconds:
                synced_at[upstream.id] = now
                _quietly(sync.sync, upstream, now)
        for rental in tracking.live_upstream_rentals():
            _quietly(tracking.refresh, rental, now, config.upstream_poll_seconds)
        stuck_after = max(u.timeout_ms for u in upstreams) // 1000 * 3 + 60
        buying.fail_stale_pending(now, stuck_after)
        for upstream in upstreams:
            _quietly(orphans.reconcile, upstream, now, config.upstream_orphan_grace_seconds)


def _quietly(step, *args):
    try:
        return step(*args)
    except Exception:  # failures are alerted where they happen; the worker keeps going
        log.exception("upstream worker step %s failed", getattr(step, "__qualname__", step))
        return None


class UpstreamWorker(Loop):
    def __init__(self, config: Config, clock=time.time, interval: float = 2.0):
        synced_at: dict = {}  # upstream id -> when its catalog was last pulled by this process
        super().__init__("ypv-upstream", interval, lambda now: run_once(config, now, synced_at), clock)
