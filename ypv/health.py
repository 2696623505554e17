"""``GET /healthz``: is the database reachable and is the sweeper still sweeping?

200 ``{"status":"ok","database":"ok","sweeper":"ok"}`` or 503 with the failing
part named, so systemd, a load balancer or a monitor can act on it. The sweeper
matters: without it, rentals nobody polls are never expired or refunded.
"""

import json
import logging

from ypv import db

log = logging.getLogger(__name__)

JSON = "application/json; charset=utf-8"


def database_status() -> str:
    try:
        with db.connection():
            db.database.execute_sql("SELECT 1").fetchone()
        return "ok"
    except Exception:  # any failure to reach it is the answer, not a crash
        log.exception("health check: database unreachable")
        return "unreachable"


def sweeper_status(sweeper, interval: float) -> str:
    """ok, off (never started), dead (thread gone) or stalled (no successful sweep lately)."""
    if sweeper is None:
        return "off"
    if not sweeper.is_alive():
        return "dead"
    last = sweeper.last_run if sweeper.last_run is not None else sweeper.started_at
    # Ten missed ticks (at least 30 s) before calling it stalled: one slow sweep is not an outage.
    if sweeper.clock() - last > max(30.0, 10 * interval):
        return "stalled"
    return "ok"


class Health:
    def __init__(self, sweeper, sweeper_interval: float):
        self.sweeper = sweeper
        self.interval = sweeper_interval

    def on_get(self, req, resp) -> None:
        checks = {"database": database_status(), "sweeper": sweeper_status(self.sweeper, self.interval)}
        healthy = all(value == "ok" for value in checks.values())
        resp.status = 200 if healthy else 503
        resp.content_type = JSON
        resp.text = json.dumps({"status": "ok" if healthy else "fail", **checks}, separators=(",", ":"))
