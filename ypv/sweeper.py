"""Background work inside the service: expiry on time, and demo SMS.

One daemon thread per worker process. Every step is a conditional UPDATE, so
running it beside ``ypv expire`` (or in two processes) never applies anything twice.
"""

import logging
import threading
import time

from ypv import db, demo_sms, key_usage, rentals
from ypv.config import Config

log = logging.getLogger(__name__)


def run_once(config: Config, now: int) -> int:
    """One sweep: expire what is due and deliver due demo SMS; returns rentals touched."""
    with db.connection():
        touched = rentals.expire_due(now)
        if config.demo_sms_delay_seconds:
            touched += demo_sms.deliver_due(now, config.demo_sms_delay_seconds)
        key_usage.usage.flush()  # the last_used_at refreshes requests left behind
    return touched


class Sweeper:
    def __init__(self, config: Config, clock=time.time):
        self.config = config
        self.clock = clock
        self.last_run: float | None = None
        self.started_at: float | None = None  # /healthz: how long a sweeper that never succeeded has been trying
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="ypv-sweeper", daemon=True)

    def start(self) -> "Sweeper":
        self.started_at = self.clock()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.config.sweeper_interval_seconds):
            try:
                run_once(self.config, int(self.clock()))
                self.last_run = self.clock()
            except Exception:  # keep sweeping: one bad tick must not stop expiry for good
                log.exception("sweeper tick failed")
