"""A cache whose values are never older than ``ttl``, built by one thread at a time.

For the catalog: stock and whole getPrices bodies are read hard and cost tens of
milliseconds to rebuild. The rules:

* Age is the age of the data, not of the entry: a value built from other cached
  values is born when the oldest of them was (reads are recorded per thread while
  it is built), so a body made from stock 1.9 s old expires 0.1 s later.
* One thread builds a key at a time; when the old value has expired the others
  wait for it, and while it is still in date they keep using it meanwhile, except
  a thread building another value from it, which waits for the fresh one.
* With ``refresh_at`` below 1 (the service uses 3/4), the first request after
  that fraction of the ttl starts a rebuild, so under steady traffic values are
  replaced before they expire and nobody waits at all. With ``background`` (a
  function that runs a callable on another thread) that request does not wait
  either: it gets the current value while the rebuild runs beside it.

One clock read per lookup (plus one per build): an entry cannot expire between
two reads of the same lookup.
"""

import threading
import time

from cachetools import LRUCache


class FreshCache:
    def __init__(self, ttl: float, clock=time.monotonic, maxsize: int = 1024, refresh_at: float = 1.0,
                 background=None):
        self.ttl = ttl
        self.refresh_after = ttl * refresh_at
        self._background = background
        self._clock = clock
        self._entries = LRUCache(maxsize=maxsize)  # key -> (value, born)
        self._lock = threading.Lock()
        # key -> lock held by the thread building it. Bounded like the entries (keys
        # carry client input, e.g. operator lists); a lock evicted while held costs
        # at most one duplicate build.
        self._building = LRUCache(maxsize=maxsize * 4)
        self._reads = threading.local()            # .stack: [oldest born] per build in progress

    def get(self, key, build):
        now = self._clock()
        entry = self._entry(key)
        if entry is not None and now - entry[1] < self.refresh_after:
            return self._use(entry)
        usable = entry is not None and now - entry[1] < self.ttl
        # A build in progress needs this value fresh, or it would be born as old as the value
        # and be due again at once: it waits for another thread's rebuild rather than taking
        # the old value (which, under traffic, made one slow rebuild into a run of them).
        in_a_build = bool(getattr(self._reads, "stack", None))
        lock = self._lock_for(key)
        if not lock.acquire(blocking=in_a_build or not usable):
            return self._use(entry)                # being rebuilt; the old value is still in date
        if usable and self._background is not None and not in_a_build:
            self._background(lambda: self._build_then_release(key, build, lock))
            return self._use(entry)
        try:
            latest = self._entry(key)
            if latest is None or latest is entry:  # nobody rebuilt it while we waited
                latest = self._build(key, build)
        finally:
            lock.release()
        return self._use(latest)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _entry(self, key):
        with self._lock:
            return self._entries.get(key)

    def _lock_for(self, key) -> threading.Lock:
        with self._lock:
            lock = self._building.get(key)
            if lock is None:
                lock = self._building[key] = threading.Lock()
            return lock

    def _build_then_release(self, key, build, lock) -> None:
        try:
            self._build(key, build)
        finally:
            lock.release()                         # taken by the request that started the rebuild

    def _build(self, key, build):
        stack = self._reads.__dict__.setdefault("stack", [])
        stack.append([self._clock()])              # born no later than the build starts
        try:
            value = build()
        finally:
            born = stack.pop()[0]
        entry = (value, born)
        with self._lock:
            self._entries[key] = entry
        return entry

    def _use(self, entry):
        """The value, noting its birth in every build in progress on this thread."""
        for frame in getattr(self._reads, "stack", ()):
            frame[0] = min(frame[0], entry[1])
        return entry[0]
