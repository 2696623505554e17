"""Keys that passed authentication, remembered so most requests need no database lookup.

DESIGN.md: revocation takes effect on the very next request, and a cache may
speed up auth only if it cannot serve a revoked key. So an entry is used only
while the key epoch (ypv/key_epoch.py) still holds the value read before the
key was looked up; revoking a key or disabling an account (the only changes
that turn a working key off) writes a new value right after its commit, in
whichever process makes it. The next request, in any process on the box, finds
every entry stale and asks the database again.

Reading the epoch before the lookup closes the race with a change that commits
during it: such an entry is stored under the old value and never used.

A change made around ypv (SQL typed into a database shell, a process on another
machine sharing a PostgreSQL database) writes no new value; entries also expire
after ``TTL`` seconds, which bounds how long such a change can go unseen.

The sweeper re-reads every remembered key every ``REFRESH`` seconds in one pass
(``refresh``): a key changed around ypv is dropped then, and the rest stay
remembered for another ``TTL`` instead of being looked up again by the next
request that uses each one (with 10,000 keys a few uses a minute each, the cache
starting over every minute made one request in six a lookup).

Where the epoch lives: beside a SQLite file (``<file>-keys``), or where
``YPV_KEY_EPOCH_FILE`` says. On PostgreSQL without that setting there is no
shared place every process is sure to see, so nothing is remembered and every
request looks its key up, as before.
"""

import contextlib
import threading
import time

from ypv import db
from ypv.key_epoch import KeyEpoch

# Long enough that a key used a few times a minute stays remembered (with 10,000 keys at
# 1,500 requests a second, 10 s left most lookups missing), short enough to bound a change
# made around ypv.
TTL = 60.0
REFRESH = 20.0  # seconds between the sweeper's re-reads: three chances before the TTL runs out
MAX_ENTRIES = 50_000  # past this the cache starts again empty: bounded memory, whatever keys exist


class KeyCache:
    """Entries are plain AuthedKeys: the epoch they were read under and their age are the whole
    cache's, not each entry's (a fifth of the memory: ~400 bytes a key). The cache empties when the
    epoch changes and every ``TTL`` seconds."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._database = None
        self._epoch: KeyEpoch | None = None
        self._entries: dict = {}       # key hash -> AuthedKey
        self._filled_under = None      # the epoch value every entry was read under
        self._expires_at = 0.0         # when every entry is dropped, whatever the epoch
        self._generation = 0           # counts start-overs: a refresh applies only within one
        self._next_refresh = 0.0
        self._configured: dict = {}    # database -> epoch file named by the configuration

    def attach(self, epoch_file: str | None) -> None:
        """Name the epoch file for the database just opened (``Config.key_epoch_file``)."""
        self._configured = {db.database.obj: epoch_file} if epoch_file else {}
        self._database = None  # chosen again on the next request

    def get(self, key_hash: str):
        """(the remembered key or None, the epoch value to store a fresh lookup under)."""
        epoch = self._current_epoch()
        if epoch is None:
            return None, None
        value = epoch.read()
        if value != self._filled_under or self._clock() >= self._expires_at:
            self._start_over(value)
            return None, value
        return self._entries.get(key_hash), value

    def put(self, key_hash: str, key, read_under: bytes | None) -> None:
        """Remember a lookup, unless a key changed since ``read_under`` was read (it may be stale).
        Under the lock: checked and stored in one step, or a start-over in between would take it in."""
        with self._lock:
            if read_under is not None and read_under == self._filled_under:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries = {}
                self._entries[key_hash] = key

    def replace(self, old, new) -> None:
        """Swap in a newer view of a key (its last use), if ``old`` is still the one remembered."""
        with self._lock:
            if self._entries.get(old.key_hash) is old:
                self._entries[old.key_hash] = new

    def _start_over(self, value: bytes) -> None:
        with self._lock:
            self._entries = {}
            self._filled_under, self._expires_at = value, self._clock() + TTL
            self._generation += 1

    def refresh_if_due(self, look_up_many) -> int | None:
        """``refresh`` once every ``REFRESH`` seconds (the sweeper calls this every tick)."""
        now = self._clock()
        if now < self._next_refresh:
            return None
        self._next_refresh = now + REFRESH
        return self.refresh(look_up_many)

    def refresh(self, look_up_many) -> int:
        """Re-read every remembered key: drop those no longer active, keep the rest another ``TTL``.

        ``look_up_many(remembered)`` returns ``{hash: AuthedKey}`` for the remembered keys still
        active (the very object remembered where nothing changed).
        What it read is applied only if the cache has not started over since it began
        (the epoch changed, or the TTL ran out), so a key revoked meanwhile is not brought
        back; every entry is then at most as old as the start of this pass. Returns how
        many keys stay remembered.
        """
        epoch = self._current_epoch()
        if epoch is None:
            return 0
        started = self._clock()
        with self._lock:
            if epoch.read() != self._filled_under or started >= self._expires_at:
                return 0               # the next request starts over; nothing to keep
            generation, remembered = self._generation, dict(self._entries)
        fresh = look_up_many(remembered)
        with self._lock:
            if generation != self._generation or epoch.read() != self._filled_under:
                return 0
            for key_hash in remembered:
                self._keep_if_active(key_hash, fresh.get(key_hash))
            self._expires_at = started + TTL
            return len(self._entries)

    def _keep_if_active(self, key_hash: str, fresh) -> None:
        """Under the lock: the re-read view of one key, or its removal."""
        if fresh is None:
            self._entries.pop(key_hash, None)
        elif self._entries.get(key_hash) is not fresh:
            self._entries[key_hash] = fresh

    @contextlib.contextmanager
    def changing_keys(self):
        """Wrap the transaction of a change that can turn keys off: a new epoch once it commits.

        Refuses before anything changes when this process cannot write the epoch (the
        change would go unseen by running servers), and when called inside an open
        transaction: the commit would come after the new value, and a lookup in between
        could remember the old row under it.
        """
        if db.database.in_transaction():
            raise RuntimeError("changing_keys() must wrap the transaction, not run inside one")
        epoch = self._current_epoch()
        if epoch is not None and not epoch.writable:
            epoch.change()  # raises EpochUnavailable with the reason
        yield
        if epoch is not None:
            epoch.change()

    def _current_epoch(self) -> KeyEpoch | None:
        database = db.database.obj
        if database is not self._database:
            with self._lock:
                if database is not self._database:
                    self._entries, self._filled_under = {}, None
                    self._epoch = _epoch_for(database, self._configured.get(database))
                    self._database = database
        return self._epoch if self._epoch is not None and self._epoch.readable else None


def _epoch_for(database, configured: str | None) -> KeyEpoch | None:
    if configured:
        return KeyEpoch(configured)
    if db.is_sqlite():
        path = database.database
        return KeyEpoch(None if path in ("", ":memory:") else f"{path}-keys")
    return None


cache = KeyCache()
