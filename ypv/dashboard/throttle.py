"""Counting attempts per account and per address: failed logins, sign-up and reset e-mails.

A sliding window in memory (cachetools), like the API limiter's, so it is exact
within one process and forgets on restart; the default deployment is one process.
The account key is the e-mail exactly as typed (normalised), whether or not such
an account exists: being throttled must not tell anyone which accounts exist.
"""

import math
import threading

from cachetools import TTLCache


class Throttle:
    def __init__(self, clock, per_account: int, per_address: int, window: float = 900.0):
        self.clock = clock
        self.window = window
        self.limits = {"account": per_account, "address": per_address}
        self._events = TTLCache(maxsize=100_000, ttl=window, timer=clock)
        self._lock = threading.Lock()

    def wait_seconds(self, email: str, address: str) -> int:
        """0 if another attempt is allowed now, else how long until the oldest counted one ages out."""
        now = self.clock()
        waits = [0]
        with self._lock:
            for kind, key in (("account", email), ("address", address)):
                recent = self._recent((kind, key), now)
                if len(recent) >= self.limits[kind]:
                    waits.append(math.ceil(recent[0] + self.window - now))
        return max(waits)

    def note(self, email: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            for bucket in (("account", email), ("address", address)):
                self._events[bucket] = self._recent(bucket, now) + [now]

    def forget(self, email: str) -> None:
        """A successful login clears its account's failures (not its address's)."""
        with self._lock:
            self._events.pop(("account", email), None)

    def _recent(self, bucket, now) -> list:
        return [t for t in self._events.get(bucket, []) if t > now - self.window]

