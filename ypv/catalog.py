"""The catalog: services, countries, prices and live stock.

Reads are cached for a few seconds (``Config.stock_cache_seconds``) because the
catalog actions are polled hard and change rarely; stock can therefore be stale
by at most that long. Writes (import, price set) clear the cache of this process.
"""

import itertools
import json
import threading
import time

from cachetools import LRUCache, TTLCache

from ypv import db
from ypv.errors import BadCountry, BadService
from ypv.models import Country, Number, Price, Service
from ypv.money import parse_amount
from ypv.providers.pool import LocalPool, stock_for
from ypv.upstream import offers

class Catalog:
    def __init__(self, ttl: float = 2.0, clock=time.monotonic, pool: LocalPool | None = None):
        self._cache = TTLCache(maxsize=256, ttl=ttl, timer=clock)  # key -> (generation, value)
        self._derived = LRUCache(maxsize=1024)                     # key -> ({input key: generation}, value)
        self._generations = itertools.count(1)
        self._lock = threading.Lock()
        self._computing: dict = {}  # key -> lock held while one thread computes it
        self._reads = threading.local()  # .stack: what each derived value being built has read
        self.pool = pool or LocalPool()

    def _cached(self, key, compute):
        with self._lock:
            # One lookup, one clock read: `key in cache` then `cache[key]` reads the clock
            # twice, and an entry expiring in between raised KeyError (a spurious BAD_COUNTRY).
            entry = self._cache.get(key)
            computing = None if entry is not None else self._computing.setdefault(key, threading.Lock())
        if entry is None:
            # One thread computes an expired entry; the others wait for its result
            # instead of all running the same queries at once (stock takes tens of ms).
            with computing:
                with self._lock:
                    entry = self._cache.get(key)
                if entry is None:
                    entry = (next(self._generations), compute())
                    with self._lock:
                        self._cache[key] = entry
        self._record({key: entry[0]})
        return entry[1]

    def derived(self, key, compute):
        """A value built from cached values, reused until any value it read is re-read.

        For whole response bodies: a full-catalog getPrices is a megabyte of JSON,
        rebuilt only when prices or stock were re-read, so it is never staler than
        they are. What a build read is recorded as it happens (``_record``), so the
        check is exact and nobody has to list the inputs.
        """
        with self._lock:
            entry = self._derived.get(key)
            current = entry is not None and all(
                (self._cache.get(k) or (None,))[0] == g for k, g in entry[0].items())
        if current:
            self._record(entry[0])
            return entry[1]
        stack = self._reads.__dict__.setdefault("stack", [])
        stack.append({})
        try:
            value = compute()
        finally:
            reads = stack.pop()
        if reads:  # built from nothing cached: nothing would ever tell it is stale
            with self._lock:
                self._derived[key] = (reads, value)
        self._record(reads)
        return value

    def _record(self, reads: dict) -> None:
        """Note cached values read by the derived values being built on this thread.

        A value read twice at two generations (re-read mid-build) is noted as None,
        which never matches: such a build is used once and never reused.
        """
        for frame in getattr(self._reads, "stack", ()):
            for key, generation in reads.items():
                frame[key] = generation if frame.get(key, generation) == generation else None

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._derived.clear()

    def services(self) -> dict:
        """{code: name}, ordered by code."""
        return self._cached("services", lambda: dict(
            Service.select(Service.code, Service.name).order_by(Service.code).tuples()))

    def countries(self) -> dict:
        """{id: Country}, ordered by id."""
        return self._cached("countries", lambda: {c.id: c for c in Country.select().order_by(Country.id)})

    def local_prices(self) -> dict:
        """{(country_id, service_code): cost in minor units} set by the operator (pool price or override)."""
        # Plain SQL: 30,000 rows through Peewee's row wrapper took a fifth of a second per refresh.
        return self._cached("local_prices", lambda: {
            (country, service): cost
            for service, country, cost in db.database.execute_sql("SELECT service_code, country_id, cost FROM price")
        })

    def upstream_offers(self) -> dict:
        return self._cached("upstream_offers", offers.load)

    def prices(self) -> dict:
        """{(country_id, service_code): the customer's price} over the pool and every upstream."""
        return self._cached("prices", lambda: offers.merged_prices(self.local_prices(), self.upstream_offers()))

    def operators(self) -> dict:
        """{country_id: [operator, …]} for countries with active numbers."""
        def compute():
            result = {}
            query = (Number.select(Number.country, Number.operator).where(Number.active)
                     .distinct().order_by(Number.country, Number.operator).tuples())
            for country, operator in query:
                result.setdefault(country, []).append(operator)
            return result
        return self._cached("operators", compute)

    def stock(self, operators: tuple = ()) -> dict:
        return self._cached(("stock", operators), lambda: self.pool.stock(operators))

    def counts(self, operators: tuple = ()) -> dict:
        """{(country, service): count} for every priced pair, built once per re-read of its inputs
        (the catalog answers need all 30,000 at once; one `count` each costs a second)."""
        return self.derived(("counts", operators), lambda: self._all_counts(operators))

    def _all_counts(self, operators: tuple) -> dict:
        stock, local, upstream = self.stock(operators), self.local_prices(), self.upstream_offers()
        return {pair: (stock_for(stock, *pair) if pair in local else 0) + offers.upstream_stock(upstream, *pair)
                for pair in self.prices()}

    def count(self, country: int, service: str, operators: tuple = ()) -> int:
        pool = stock_for(self.stock(operators), country, service) if (country, service) in self.local_prices() else 0
        return pool + offers.upstream_stock(self.upstream_offers(), country, service)

    def service(self, code: str | None) -> str:
        """Validate a service code; BAD_SERVICE when missing or unknown."""
        if not code or code not in self.services():
            raise BadService()
        return code

    def country(self, country_id: int) -> Country:
        try:
            return self.countries()[country_id]
        except KeyError:
            raise BadCountry() from None

    def price(self, service: str, country: int) -> int | None:
        return self.prices().get((country, service))


def import_catalog(data: dict) -> dict:
    """Upsert countries, services and prices from the demo/import JSON format; all or nothing.

    A malformed entry raises ValueError naming it, and nothing is imported.
    """
    if not isinstance(data, dict):
        raise ValueError("a catalog file is a JSON object with countries, services and prices")
    with db.write_transaction():
        for c in data.get("countries", []):
            _required(c, "country", "id", "eng", "phone_code")
            Country.insert(
                id=int(c["id"]), eng=c["eng"], rus=c.get("rus", c["eng"]), chn=c.get("chn", c["eng"]),
                phone_code=int(c["phone_code"]), visible=bool(c.get("visible", True)),
            ).on_conflict(conflict_target=[Country.id],
                          preserve=[Country.eng, Country.rus, Country.chn, Country.phone_code,
                                    Country.visible]).execute()
        for s in data.get("services", []):
            _required(s, "service", "code", "name")
            Service.insert(code=s["code"], name=s["name"]).on_conflict(
                conflict_target=[Service.code], preserve=[Service.name]).execute()
        for p in data.get("prices", []):
            _required(p, "price", "service", "country", "cost")
            set_price(p["service"], int(p["country"]), parse_amount(str(p["cost"])))
    return {key: len(data.get(key, [])) for key in ("countries", "services", "prices")}


def _required(entry, kind: str, *fields) -> None:
    if not isinstance(entry, dict) or any(f not in entry for f in fields):
        raise ValueError(f"every {kind} needs {', '.join(fields)}: {json.dumps(entry, ensure_ascii=False)[:200]}")


def set_price(service: str, country: int, cost: int) -> None:
    if cost <= 0:
        raise ValueError("a price must be above zero")
    if not Service.select().where(Service.code == service).exists():
        raise ValueError(f"unknown service {service!r}")
    if not Country.select().where(Country.id == country).exists():
        raise ValueError(f"unknown country {country}")
    Price.insert(service=service, country=country, cost=cost).on_conflict(
        conflict_target=[Price.service, Price.country], preserve=[Price.cost]).execute()
