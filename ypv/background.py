"""A daemon thread that runs one step every few seconds, for the life of a worker process."""

import logging
import threading
import time

log = logging.getLogger(__name__)


class Loop:
    """Call ``step(now)`` every ``interval`` seconds until stopped.

    A failing step is logged and the loop goes on: one bad tick must not stop
    expiry (or upstream reconciliation) for good. ``last_run`` is when a step last
    succeeded, for /healthz and /metrics.
    """

    def __init__(self, name: str, interval: float, step, clock=time.time):
        self.interval = interval
        self.step = step
        self.clock = clock
        self.last_run: float | None = None
        self.started_at: float | None = None  # /healthz: how long a loop that never succeeded has been trying
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> "Loop":
        self.started_at = self.clock()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.step(int(self.clock()))
                self.last_run = self.clock()
            except Exception:  # noqa: BLE001 — see the class docstring
                log.exception("%s: step failed", self._thread.name)
