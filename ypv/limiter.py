"""Per-key sliding-window rate limiter, in memory.

For each key we remember the times of its last ``limit`` accepted requests in a
ring buffer (an ``array('d')`` that grows only as the key uses it: 8 bytes per
remembered request, and while it fills, requests older than the window are let
go, so it holds at most twice the last minute's). A request at time ``t`` is accepted when fewer than
``limit`` requests were accepted in ``(t - 60, t]``, i.e. when the oldest of the
last ``limit`` is at least 60 s old. That is exact: no 60-second window ever
holds more than ``limit`` accepted requests, and ``Retry-After`` is the whole
seconds until that oldest request leaves the window. Rejected requests are not
counted, so a client that keeps knocking is not locked out for longer.

State exists only for keys that passed authentication and is dropped once every
request of a key has left the window (a sweep once per window), so memory is
bounded by the keys active in the last minute or two, never by attackers'
guesses. The limiter is exact within one process: run one gunicorn worker
(threads are fine).
"""

import bisect
import math
import threading
import time
from array import array

WINDOW = 60.0


class _KeyWindow:
    __slots__ = ("times", "head")

    def __init__(self):
        self.times = array("d")
        self.head = 0  # index of the oldest entry once the ring is full

    def newest(self) -> float:
        return self.times[self.head - 1] if self.times else float("-inf")

    def ordered(self) -> list:
        return list(self.times[self.head:]) + list(self.times[:self.head])

    def resize(self, limit: int) -> None:
        """The key's limit changed: keep its newest entries, oldest first."""
        self.times = array("d", self.ordered()[-limit:])
        self.head = 0

    def _forget_expired(self, now: float) -> None:
        """Drop the entries that left the window, once they are half of a ring still filling.

        A ring that is not full holds every request since the key's state was made: for a
        key whose limit is far above its rate that is all of them (a million a day at 12 a
        second), though only the last minute's can matter. Entries are in time order while
        the ring fills (head is 0), so the expired ones are a prefix; cutting it only when it
        is half the ring costs O(1) a request on average and keeps at most twice the
        requests of the last minute. Forgotten entries cannot change an answer: every
        later request's window starts after them.
        """
        times = self.times
        if len(times) >= 64 and now - times[len(times) // 2] >= WINDOW:
            del times[:bisect.bisect_right(times, now - WINDOW)]

    def admit(self, now: float, limit: int) -> float | None:
        """Record and accept, or return seconds until a slot frees."""
        if len(self.times) != limit and (len(self.times) > limit or self.head):
            self.resize(limit)
        if len(self.times) < limit:
            self._forget_expired(now)
            self.times.append(now)
            return None
        oldest = self.times[self.head]
        if now - oldest < WINDOW:
            return oldest + WINDOW - now
        self.times[self.head] = now
        self.head = (self.head + 1) % limit
        return None


class RateLimiter:
    def __init__(self, clock=time.time, max_keys: int = 200_000):
        self._clock = clock
        self._lock = threading.Lock()
        # A plain dict swept once per window: cachetools' TTLCache kept a link object and an
        # ordered-dict node per key (~200 bytes each, 2 MiB at 10,000 keys) and re-linked it on
        # every accepted request.
        self._windows: dict[int, _KeyWindow] = {}
        self._next_sweep = clock() + WINDOW
        self._max_keys = max_keys

    def hit(self, key_id: int, limit: int) -> int | None:
        """Count one request; None if accepted, else Retry-After in whole seconds (1..60)."""
        with self._lock:
            # Read the clock under the lock: a thread that read it earlier but took the lock later
            # would append an older time after a newer one, and the ring's head would no longer be
            # the oldest request (wrong rejections, wrong Retry-After).
            now = self._clock()
            if now >= self._next_sweep:
                self._sweep(now)
            window = self._windows.get(key_id)
            if window is None:
                if len(self._windows) >= self._max_keys:
                    self._make_room(now)
                window = self._windows[key_id] = _KeyWindow()
            wait = window.admit(now, limit)
            if wait is None:
                return None
        return max(1, min(int(WINDOW), math.ceil(wait)))

    def _sweep(self, now: float) -> None:
        """Drop the keys whose every request has left the window: forgetting them changes no answer."""
        idle = [key_id for key_id, window in self._windows.items() if window.newest() <= now - WINDOW]
        for key_id in idle:
            del self._windows[key_id]
        self._next_sweep = now + WINDOW

    def _make_room(self, now: float) -> None:
        """At ``max_keys`` (only keys that authenticated get here): drop the idle ones, else the
        one used longest ago, as the TTLCache this replaced did. Memory stays bounded."""
        self._sweep(now)
        if len(self._windows) >= self._max_keys:
            del self._windows[min(self._windows, key=lambda key_id: self._windows[key_id].newest())]

    def __len__(self) -> int:
        with self._lock:
            self._sweep(self._clock())
            return len(self._windows)
