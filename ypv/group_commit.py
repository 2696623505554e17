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
    __slots__ = ("fn", "done", "result", "error", "wake")

    def __init__(self, fn):
        self.fn, self.done, self.result, self.error = fn, False, None, None
        self.wake = threading.Event()  # set when the item is done, or when it must lead the next batch


class GroupCommit:
    """The queue's first item leads: it runs everything queued when it gets the write lock.

    Followers sleep on their own event, and the leader wakes each of them at once when
    their batch has committed, then wakes the new first item to lead the next batch
    (threads waiting their turn on one lock would instead wake one after another, each
    only to find its work done, while the next batch waits behind them).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._queue: list = []

    def run(self, fn):
        """``fn()`` in a write transaction, maybe together with other threads' work; its result."""
        if db.database.in_transaction():   # inside the caller's own transaction: it commits, not us
            with db.database.atomic():     # a savepoint: a failure undoes this work only
                return fn()
        item = _Item(fn)
        with self._lock:
            self._queue.append(item)
            leads = len(self._queue) == 1
        if not leads:
            item.wake.wait()
        if not item.done:
            self._lead(item)
        if item.error is not None:
            raise item.error
        return item.result

    def _lead(self, leader: _Item) -> None:
        batch = [leader]                   # the queue's first item
        try:
            with db.sqlite_writer:         # the CLI and other writers of this process; the queue fills meanwhile
                with self._lock:
                    batch = list(self._queue)
                _run_batch(batch)
        finally:                           # whatever happened, nobody may wait for a wake that never comes
            with self._lock:
                del self._queue[:len(batch)]  # the batch is the queue's head: items only join at the tail
                following = self._queue[0] if self._queue else None
            for item in batch[1:]:
                item.wake.set()
            if following is not None:
                following.wake.set()


def _run_batch(batch: list) -> None:
    try:
        with db.database.atomic():        # BEGIN IMMEDIATE ... one COMMIT for all
            if len(batch) == 1:
                batch[0].result = batch[0].fn()  # alone: a failure rolls the transaction back (below)
            else:
                _run_each_in_a_savepoint(batch)
    except BaseException as exc:          # BEGIN or COMMIT failed, or the lone item did: nothing happened
        for item in batch:
            item.result, item.error = None, exc
        if not isinstance(exc, Exception):
            raise
    finally:
        for item in batch:
            item.done = True


def _run_each_in_a_savepoint(batch: list) -> None:
    # Written out rather than database.atomic(): Peewee's savepoint objects cost as
    # much again as the statements, inside the write lock that every purchase waits
    # for. Items run one after another; work nested inside an item (atomic() there)
    # opens a savepoint of its own, after this one and released before it.
    for item in batch:
        db.database.execute_sql("SAVEPOINT group_item")
        try:
            item.result = item.fn()
        except Exception as exc:        # the item's own answer (NO_NUMBERS …), or a bug
            item.error = exc
            db.database.execute_sql("ROLLBACK TO group_item")  # undo this item only
        db.database.execute_sql("RELEASE group_item")


group = GroupCommit()
