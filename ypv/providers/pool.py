"""The local number pool: SIMs the operator owns, stored in the ``number`` table.

Free means: active, not in a live rental (``rental.live_number_id`` is unique,
so the schema forbids a second live rental), and never rented for this service
before (``rental`` is unique on number_id + service_code). A purchase gets the
first free number after the last one this process sold in the same country,
wrapping round to the lowest when none is left above it (next fit).

Why not simply the lowest free number: numbers are rented for twenty minutes, so
the lowest ids of a country are the ones in live rentals, and a lowest-first pick
walks past every one of them (measured: 0.6 ms of a 0.9 ms purchase with 66 live
rentals per country, growing with every sale). Going round the pool, the numbers
ahead of the cursor are the ones whose rentals ended longest ago. It also spreads
use evenly over the SIMs instead of wearing out the first ones.
"""

import threading
import time

from ypv import db
from ypv.params import MAX_OPERATORS, MAX_PHONE_EXCEPTIONS
from ypv.providers import Lease, NumberFilter
from ypv.providers.pool_stock import StockCounter, canonical

# The first free number of a country at or above a lower bound, walked in id order through the
# (country_id, id) index from a floor (below), probing the two unique indexes of
# rental per number. "LIMIT 1 OFFSET 0" keeps PostgreSQL from turning NOT EXISTS
# into a merge anti-join that reads every live rental (3 ms instead of 0.3 ms);
# SQLite plans it the same either way. {p} is the driver's placeholder.
_PICK = ("SELECT n.id, n.phone, n.operator FROM number n "
         "WHERE n.country_id = {p} AND n.id >= {p} AND n.active "
         "AND NOT EXISTS (SELECT 1 FROM rental l WHERE l.live_number_id = n.id LIMIT 1 OFFSET 0) "
         "AND NOT EXISTS (SELECT 1 FROM rental r WHERE r.number_id = n.id AND r.service_code = {p} "
         "LIMIT 1 OFFSET 0)")
# The lowest number of a country at or above a floor that was never rented for a service.
_FLOOR = ("SELECT n.id FROM number n WHERE n.country_id = {p} AND n.id >= {p} "
          "AND NOT EXISTS (SELECT 1 FROM rental r WHERE r.number_id = n.id AND r.service_code = {p}) "
          "ORDER BY n.id LIMIT 1")


FLOOR_EVERY = 1.0  # seconds; 0 raises a floor before every pick (tests)


class LocalPool:
    name = "pool"

    def __init__(self):
        # (country, service) -> an id below which every number of the country was
        # rented for the service, so can never be sold for it again. Without it a
        # purchase walks past every number ever sold for the service (the whole
        # history of a popular one) before reaching a free number. Safe to keep
        # and to share between threads and processes: rentals are never deleted,
        # never change number or service, and new numbers get higher ids.
        self._floors: dict = {}   # (country, service), the catalog's shared pair -> floor
        # Pairs whose floor was raised (or first seen) in the current period. A time per pair
        # would cost a tuple and a float for each of the 30,000 pairs of a full catalog
        # (~5 MiB of a worker that has sold them all); a set of this period's pairs, a few hundred.
        self._raised: set = set()
        self._period = None
        self._floors_lock = threading.Lock()
        # country -> id of the number this process sold last there. A hint only:
        # threads and processes may race on it, the unique indexes keep sales apart.
        self._cursors: dict = {}
        self._stock = StockCounter()

    def acquire(self, service: str, country: int, wanted: NumberFilter) -> Lease | None:
        """Pick a free number inside the caller's write transaction, or None."""
        floor = self._floor(country, service)
        cursor = self._cursors.get(country, 0)
        row = self._pick(country, max(floor, cursor + 1), service, wanted)
        if row is None and cursor >= floor:
            row = self._pick(country, floor, service, wanted)  # nothing above the cursor: wrap round
        if row is None:
            return None
        self._cursors[country] = row[0]
        return Lease(*row)

    @staticmethod
    def _pick(country: int, lowest: int, service: str, wanted: NumberFilter):
        return db.fetchone(*_pick_query(country, lowest, service, wanted))

    def _floor(self, country: int, service: str) -> int:
        """The pair's floor, raised at most once per FLOOR_EVERY: the query costs a round trip,
        and a floor a second old only adds that second's sales of the pair to the walk."""
        pair = canonical((country, service))
        with self._floors_lock:
            floor = self._floors.get(pair)
            if FLOOR_EVERY:
                period = time.monotonic() // FLOOR_EVERY
                if period != self._period:
                    self._raised, self._period = set(), period
                if floor is None:  # first sight: walk from the bottom now, raise it next period
                    self._floors[pair] = 0
                    self._raised.add(pair)
                    return 0
                if pair in self._raised:
                    return floor
                self._raised.add(pair)
        row = db.fetchone(_FLOOR, (country, floor or 0, service))
        with self._floors_lock:
            floor = max(row[0] if row else 0, self._floors.get(pair, 0))
            self._floors[pair] = floor
        return floor

    def stock(self, operators: tuple = ()) -> dict:
        """{(country_id, service_code): free numbers} for every pair with any rental history,
        plus {(country_id, None): free numbers} per country."""
        return self._stock.stock(operators)


# Filter lists are padded to a few lengths. Each distinct text is a statement that SQLite
# prepares and keeps on every connection that runs it (up to 128 per connection), and a
# pick with 100 phone exceptions compiles to ~48 KiB: with a text per list length (up to
# 20 × 100 of them) one client's requests could hold ~6 MiB on every connection.
_OPERATOR_LENGTHS = (MAX_OPERATORS,)
_PREFIX_LENGTHS = (1, 4, 16, MAX_PHONE_EXCEPTIONS)


def _pick_query(country: int, floor: int, service: str, wanted: NumberFilter) -> tuple[str, tuple]:
    sql, params = [_PICK], [country, floor, service]
    if wanted.operators:
        operators = db.padded(wanted.operators, _OPERATOR_LENGTHS)
        sql.append(f"AND n.operator IN ({', '.join(['{p}'] * len(operators))})")
        params.extend(operators)
    for prefix in db.padded(wanted.exclude_prefixes, _PREFIX_LENGTHS):  # digits only (params.phone_exceptions)
        sql.append("AND n.phone NOT LIKE {p}")
        params.append(prefix + "%")
    sql.append("ORDER BY n.id LIMIT 1")
    if db.is_postgresql():  # Peewee-free SQL, but SQLite has no row locks to take
        sql.append("FOR UPDATE OF n SKIP LOCKED")
    return " ".join(sql), tuple(params)


def stock_for(stock: dict, country: int, service: str) -> int:
    """Read one pair out of ``LocalPool.stock``'s result."""
    return max(0, stock.get((country, service), stock.get((country, None), 0)))
