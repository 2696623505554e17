"""``api_key.last_used_at``, written behind the requests instead of inside them.

A key's first use ever is written at once (the dashboard's "never" turns into a
time right away). After that the value is refreshed at most once a minute per
key, and those refreshes are collected in memory and written together, in one
transaction, by whichever request (or sweeper tick) finds the oldest one at
least a second old. A read request therefore never waits for a commit (an fsync
on SQLite), and ten thousand busy keys cost one small write a second, not one
write per key per minute. Losing the last second of refreshes in a crash loses
nothing anyone relies on: the value is informational.
"""

import threading

from ypv import db

EVERY = 60           # seconds between refreshes of one key's last_used_at
FLUSH_AFTER = 1      # seconds a refresh may wait to be written with others
# One statement for every batch, run once per key: an UPDATE … IN (?, ?, …) per batch was a new
# statement text for every batch size, and SQLite keeps up to 128 prepared statements per
# connection (~28 KiB each at that size): 10 MiB of the worker after a quarter of an hour.
_WRITE = ("UPDATE api_key SET last_used_at = {p} WHERE id = {p} "
          "AND (last_used_at IS NULL OR last_used_at < {p})")


class UsageLog:
    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}   # key id -> first time seen since its last write
        self._oldest: int | None = None
        self._database = None                # the database the pending refreshes belong to

    def note(self, key_id: int, last_used_at: int | None, now: int) -> bool:
        """Record a use; writes at once for a first use, else only when a batch is due.

        True when the use was recorded (``now`` is the key's last use from here on).
        """
        recorded = last_used_at is None or now - last_used_at >= EVERY
        if last_used_at is None:
            write({key_id: now})
        elif recorded:
            with self._lock:
                if self._database is not db.database.obj:   # tests open a new database per test
                    self._pending, self._oldest, self._database = {}, None, db.database.obj
                self._pending.setdefault(key_id, now)
                self._oldest = now if self._oldest is None else min(self._oldest, now)
        if self._oldest is not None and now - self._oldest >= FLUSH_AFTER:
            self.flush()
        return recorded

    def flush(self) -> int:
        """Write every pending refresh; returns how many keys were written."""
        with self._lock:
            if self._database is not db.database.obj:
                self._pending = {}
            pending, self._pending, self._oldest = self._pending, {}, None
        if pending:
            write(pending)
        return len(pending)


def write(times: dict) -> None:
    """One transaction: ``last_used_at = t`` for the given keys, never moving a value back."""
    with db.write_transaction():
        db.execute_many(_WRITE, [(when, key_id, when) for key_id, when in times.items()])


usage = UsageLog()
