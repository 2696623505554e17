"""Group commit for SQLite: purchases from several threads share one transaction and one fsync.

With ``synchronous=FULL`` every SQLite commit waits for an fsync of the WAL, and
SQLite has one writer at a time, so purchases cannot be faster than one fsync
each (0.15 to 1.5 ms on the test VM) however many threads wait. Here the first
waiting thread becomes the leader: it takes the write lock, runs every queued
purchase in one transaction, each inside its own savepoint, commits once, and
hands each thread its own result or exception. Nothing is answered before the
commit that holds it, and a purchase that fails rolls back only its savepoint,
so each one is still all-or-nothing and durable when its caller returns.
"""

import threading

from ypv import db


class _Item:
    __slots__ = ("fn", "done", "result", "error")

    def __init__(self, fn):
        self.fn, self.done, self.result, self.error = fn, False, None, None


class GroupCommit:
    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list = []

    def run(self, fn):
        """``fn()`` in a write transaction, maybe together with other threads' work; its result."""
        if db.database.in_transaction():   # inside the caller's own transaction: it commits, not us
            return fn()
        item = _Item(fn)
        with self._lock:
            self._queue.append(item)
        with db.sqlite_writer:             # one leader at a time; the queue fills meanwhile
            if not item.done:
                with self._lock:
                    batch, self._queue = self._queue, []
                _run_batch(batch)
        if item.error is not None:
            raise item.error
        return item.result


def _run_batch(batch: list) -> None:
    try:
        with db.database.atomic():        # BEGIN IMMEDIATE ... one COMMIT for all
            for item in batch:
                try:
                    with db.database.atomic():  # a savepoint: a failure undoes this item only
                        item.result = item.fn()
                except Exception as exc:        # the item's own answer (NO_NUMBERS …), or a bug
                    item.error = exc
    except BaseException as exc:          # BEGIN or COMMIT failed: nothing in the batch happened
        for item in batch:
            item.result, item.error = None, exc
        if not isinstance(exc, Exception):
            raise
    finally:
        for item in batch:
            item.done = True


group = GroupCommit()
