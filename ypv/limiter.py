"""Per-key sliding-window rate limiter, in memory.

Each key keeps request counts in one-second buckets for the last 61 seconds
(two small fixed-size arrays, ~1 KiB per key however fast it calls). A request
at time ``t`` is counted against every bucket from ``floor(t) - 60`` to
``floor(t)``; any 60-second window ending at ``t`` lies inside those buckets, so
no 60-second window ever holds more than ``limit`` accepted requests. The price
of bucketing is that a slot frees up to one second later than a per-request
timestamp log would free it; ``Retry-After`` reports that honest figure.

State exists only for keys that passed authentication and is dropped once a key
has been idle for a full window (cachetools TTLCache), so memory is bounded by
the number of recently active keys, never by attackers' guesses. The limiter is
exact within one process: run one gunicorn worker (threads are fine).
"""

import math
import threading
import time
from array import array

from cachetools import TTLCache

WINDOW = 60
_BUCKETS = WINDOW + 1


class _KeyWindow:
    __slots__ = ("seconds", "counts")

    def __init__(self):
        self.seconds = array("q", [-1]) * _BUCKETS
        self.counts = array("l", [0]) * _BUCKETS

    def used(self, now_second: int) -> int:
        oldest = now_second - WINDOW
        return sum(c for s, c in zip(self.seconds, self.counts) if s >= oldest)

    def add(self, now_second: int) -> None:
        slot = now_second % _BUCKETS
        if self.seconds[slot] != now_second:
            self.seconds[slot] = now_second
            self.counts[slot] = 0
        self.counts[slot] += 1

    def seconds_until_free(self, now: float, limit: int) -> int:
        """Whole seconds until one more request would be accepted."""
        now_second = int(now)
        excess = self.used(now_second) - limit + 1
        for second in sorted(s for s in set(self.seconds) if s >= now_second - WINDOW):
            excess -= self.counts[second % _BUCKETS]
            if excess <= 0:
                # Bucket `second` stops counting once floor(t) - 60 > second.
                return max(1, min(WINDOW, math.ceil(second + WINDOW + 1 - now)))
        return 1


class RateLimiter:
    def __init__(self, clock=time.time, max_keys: int = 200_000):
        self._clock = clock
        self._lock = threading.Lock()
        # TTL slightly above the window: an idle key's state expires only when
        # every bucket in it has already aged out, so dropping it loses nothing.
        self._windows = TTLCache(maxsize=max_keys, ttl=WINDOW + 2, timer=clock)

    def hit(self, key_id: int, limit: int) -> int | None:
        """Count one request; return None if accepted, else Retry-After seconds."""
        now = self._clock()
        now_second = int(now)
        with self._lock:
            window = self._windows.get(key_id)
            if window is None:
                window = _KeyWindow()
            if window.used(now_second) >= limit:
                return window.seconds_until_free(now, limit)
            window.add(now_second)
            self._windows[key_id] = window  # refreshes the idle TTL
            return None

    def forget(self, key_id: int) -> None:
        with self._lock:
            self._windows.pop(key_id, None)

    def __len__(self) -> int:
        with self._lock:
            self._windows.expire()
            return len(self._windows)
