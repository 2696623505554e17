"""Free numbers per (country, service) without re-reading the whole rental history.

A number is free for service s when it is active, not in a live rental, and was
never rented for s. So, per country c and operator o::

    stock(c, s) = free(c) - |free(c) ∩ used(s)|
                = free(c) - (used(c, s) - |busy(c) ∩ used(s)|)

where free = active and not live, busy = live or retired, and used(c, s) counts
the numbers of c ever rented for s. Counting used(c, s) from scratch reads every
rental ever made (over a second at a million rentals), yet it only grows:
rentals are never deleted and a rental's number and service never change. So it
is counted once, then only the new rentals are added. The other terms are small
and read afresh each time: numbers (a scan of the pool), live rentals, and the
rentals of busy numbers (at most one per service each).

PostgreSQL hands out ids before commit, so a rental with a lower id can become
visible after a higher one. New rentals are therefore counted afresh on every
refresh until ``SETTLE`` seconds after we first saw an id at least as high, and
only then added to the running total. (A purchase transaction open that long
would be counted as never sold for that pair: a displayed count one too high.)
The counts assume a number keeps its country and operator, as the pool does.
"""

import collections
import sys
import threading
import time
from collections import Counter

from ypv import db

SETTLE = 30.0           # seconds before a range of rental ids joins the running total
INITIAL_MARGIN = 10_000  # ids below the first maximum seen that are still counted afresh at first

# (country, service, operator) -> rentals of pool numbers; ids in a range.
_USED = ("SELECT n.country_id, r.service_code, n.operator, COUNT(*) FROM rental r "
         "JOIN number n ON n.id = r.number_id WHERE r.id > {p} AND r.id <= {p} "
         "GROUP BY n.country_id, r.service_code, n.operator")
_BUSY_IDS = ("SELECT live_number_id FROM rental WHERE live_number_id IS NOT NULL "
             "UNION SELECT id FROM number WHERE NOT active")
# The rentals of busy numbers, probed number by number through the (number_id,
# service_code) index. Planners left alone read all rentals instead: SQLite obeys
# CROSS JOIN order, PostgreSQL an ANY(ARRAY(...)) probe.
_BUSY = {
    "sqlite": (f"SELECT n.country_id, r.service_code, n.operator, COUNT(*) FROM ({_BUSY_IDS}) busy "
               "CROSS JOIN number n CROSS JOIN rental r WHERE n.id = busy.live_number_id "
               "AND r.number_id = busy.live_number_id GROUP BY n.country_id, r.service_code, n.operator"),
    "postgresql": ("SELECT n.country_id, r.service_code, n.operator, COUNT(*) FROM rental r "
                   f"JOIN number n ON n.id = r.number_id WHERE r.number_id = ANY(ARRAY({_BUSY_IDS})) "
                   "GROUP BY n.country_id, r.service_code, n.operator"),
}
# Every active number: SQLite would walk the country index and look each row up;
# reading the table straight through is several times faster.
_ACTIVE = {
    "sqlite": "SELECT country_id, operator, COUNT(*) FROM number NOT INDEXED WHERE active "
              "GROUP BY country_id, operator",
    "postgresql": "SELECT country_id, operator, COUNT(*) FROM number WHERE active GROUP BY country_id, operator",
}
_LIVE = ("SELECT n.country_id, n.operator, COUNT(*) FROM rental l CROSS JOIN number n "
         "WHERE n.id = l.live_number_id AND l.live_number_id IS NOT NULL AND n.active "
         "GROUP BY n.country_id, n.operator")


class StockCounter:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._settled: dict = {}       # operator -> Counter of used counts per pair, rental ids <= self._upto
        self._upto: int | None = None
        self._seen = collections.deque()  # (when, highest rental id then), oldest first

    def stock(self, operators: tuple = ()) -> dict:
        """{(country, service): free for service, (country, None): free} for the wanted operators."""
        dialect = "postgresql" if db.is_postgresql() else "sqlite"
        free = _counts(_ACTIVE[dialect])
        free.subtract(_counts(_LIVE))
        busy = _by_operator(_BUSY[dialect])
        with self._lock:  # the running total changes under this lock; read it under it too
            recent = self._used()
            return _combine(free, (self._settled, recent), busy, operators)

    def _used(self) -> dict:
        """Bring the settled total up to date; returns used(c, s, o) over the recent ids, counted now."""
        highest = db.fetchone("SELECT MAX(id) FROM rental", ())[0] or 0
        now = self._clock()
        if self._upto is None:
            self._upto = max(0, highest - INITIAL_MARGIN)
            self._settled = _by_operator(_USED, 0, self._upto)
        if not self._seen or self._seen[-1][1] < highest:
            self._seen.append((now, highest))
        target = None
        while self._seen and self._seen[0][0] <= now - SETTLE:
            target = self._seen.popleft()[1]
        if target is not None and target > self._upto:
            for operator, counts in _by_operator(_USED, self._upto, target).items():
                self._settled.setdefault(operator, Counter()).update(counts)
            self._upto = target
        return _by_operator(_USED, self._upto, 2**62)


def _counts(sql: str, *params) -> Counter:
    rows = db.database.execute_sql(db.placeholders(sql), params)
    return Counter({tuple(_interned(v) for v in row[:-1]): row[-1] for row in rows})


def _by_operator(sql: str, *params) -> dict:
    """Rows of (country, service, operator, count) as {operator: Counter({pair: count})}.

    Keyed by the catalog's shared pair (``canonical``) under its operator rather than by a
    (country, service, operator) tuple of its own: the running total holds every pair ever
    sold (30,000 for a full catalog), and 30,000 three-tuples were 1.9 MiB of the worker.
    """
    result: dict = {}
    for country, service, operator, count in db.database.execute_sql(db.placeholders(sql), params):
        per_pair = result.get(operator)
        if per_pair is None:
            per_pair = result[sys.intern(operator)] = Counter()
        per_pair[canonical((country, service))] = count
    return result


def _interned(value):
    return sys.intern(value) if isinstance(value, str) else value


_PAIRS: dict = {}
_NUMBERS: dict = {}
MAX_NUMBERS = 100_000  # distinct values kept; past this the table starts again (memory stays bounded)


def canonical(pair: tuple) -> tuple:
    """One shared (country, service) tuple for every table of the catalog.

    Each refresh reads the same 30,000 pairs again as new tuples of new strings
    (a 'tg' per row); one copy of each, shared by prices, stock and counts,
    saves several MiB for a full catalog and the churn of rebuilding them.
    The shared tuple is its own key: keeping the caller's tuple as the key
    would hold a second copy of every pair.
    """
    shared = _PAIRS.get(pair)
    if shared is None:
        shared = (pair[0], _interned(pair[1]))
        _PAIRS[shared] = shared
    return shared


def shared_int(value: int) -> int:
    """One int object per value across the catalog's tables (prices, stock, counts).

    Python shares only -5..256; every other count or price a refresh computes is a
    new object, 30,000 of them per table every couple of seconds. Those that live
    on in the new table sit in memory pages among the old table's dying ones and
    keep them from going back to the system. Handing out the same object for the
    same value means a refresh that changes little allocates little.
    """
    shared = _NUMBERS.get(value)
    if shared is None:
        if len(_NUMBERS) >= MAX_NUMBERS:
            _NUMBERS.clear()
        shared = _NUMBERS[value] = value
    return shared


def _combine(free: Counter, used: tuple, busy: dict, operators: tuple) -> dict:
    """Sum over the wanted operators (all when none are named) into the shape stock_for reads.

    ``used`` is (settled, recent) and ``busy`` the rentals of busy numbers, each
    {operator: {pair: count}} (``_by_operator``). One pass over the settled total
    (30,000 pairs for a full catalog), no intermediate copies: this runs on every
    stock refresh.
    """
    wanted = set(operators)
    per_country: dict = {}
    for (country, operator), count in free.items():
        if not wanted or operator in wanted:
            per_country[country] = per_country.get(country, 0) + count
    stock: dict = {(country, None): count for country, count in per_country.items()}

    def subtract(pair: tuple, used_free: int) -> None:  # used_free: ever rented for the service, free now
        if used_free > 0:
            stock[pair] = shared_int(stock.get(pair, per_country.get(pair[0], 0)) - used_free)

    settled, recent = used
    for operator in settled.keys() | recent.keys():
        if wanted and operator not in wanted:
            continue
        done, new, gone = settled.get(operator, {}), recent.get(operator, {}), busy.get(operator, {})
        for pair, count in done.items():
            subtract(pair, count + new.get(pair, 0) - gone.get(pair, 0))
        for pair, count in new.items():
            if pair not in done:
                subtract(pair, count - gone.get(pair, 0))
    return stock
