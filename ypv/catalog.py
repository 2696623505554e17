"""The catalog: services, countries, prices and live stock.

Reads are cached for a few seconds (``Config.stock_cache_seconds``) because the
catalog actions are polled hard and change rarely; stock can therefore be stale
by at most that long. Writes (import, price set) clear the cache of this process.
"""

import json
import logging
import threading
import time

from ypv import db
from ypv.errors import BadCountry, BadService
from ypv.fresh_cache import FreshCache
from ypv.models import Country, Number, Price, Service
from ypv.money import parse_amount
from ypv.providers.pool import LocalPool, stock_for
from ypv.providers.pool_stock import canonical, shared_int
from ypv.upstream import offers

log = logging.getLogger(__name__)


class Catalog:
    def __init__(self, ttl: float = 2.0, clock=time.monotonic, pool: LocalPool | None = None,
                 refresh_at: float = 1.0):
        background = _on_own_thread if refresh_at < 1 else None
        self._cache = FreshCache(ttl, clock, refresh_at=refresh_at, background=background)
        self.pool = pool or LocalPool()
        self._local = None  # (price_version, local prices) of the last read of the price table

    def _cached(self, key, compute):
        return self._cache.get(key, compute)

    def derived(self, key, compute):
        """A value built from cached values (a whole response body): never older than they are.

        A full-catalog getPrices is a megabyte of JSON; it is rebuilt only as its
        data expires, by one thread, while the others keep sending the last one.
        """
        return self._cache.get(key, compute)

    def clear(self) -> None:
        self._cache.clear()
        self._local = None

    def services(self) -> dict:
        """{code: name}, ordered by code."""
        return self._cached("services", lambda: dict(
            Service.select(Service.code, Service.name).order_by(Service.code).tuples()))

    def countries(self) -> dict:
        """{id: Country}, ordered by id."""
        return self._cached("countries", lambda: {c.id: c for c in Country.select().order_by(Country.id)})

    def local_prices(self) -> dict:
        """{(country_id, service_code): cost in minor units} set by the operator (pool price or override)."""
        return self._cached("local_prices", self._read_local_prices)

    def _read_local_prices(self) -> dict:
        """The price table, re-read only when price_version says it changed.

        A full catalog is 30,000 rows: 40-120 ms of mostly GIL-held Python per read, every
        1.5 s under traffic, and the purchases waiting for the GIL meanwhile made up the slow
        end of getNumber's latency. The version is read first, so a change committed between
        the two reads only makes the next rebuild read the table again."""
        version = db.fetchone("SELECT version FROM price_version", ())
        remembered = self._local
        if remembered is not None and version is not None and remembered[0] == version[0]:
            return remembered[1]
        # Plain SQL: 30,000 rows through Peewee's row wrapper took a fifth of a second per refresh.
        rows = db.database.execute_sql("SELECT service_code, country_id, cost FROM price")
        prices = {canonical((country, service)): shared_int(cost) for service, country, cost in rows}
        self._local = (version[0] if version else None, prices)
        return prices

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

    def counts(self, operators: tuple = ()) -> "PairCounts":
        """``counts()[(country, service)]``: what ``count`` answers, for building a catalog body
        (the catalog answers need all 30,000 pairs at once; one ``count`` each looks every table
        up 30,000 times). Read from this moment's tables; no 30,000-entry table of its own."""
        return PairCounts(self.stock(operators), self.local_prices(), self.upstream_offers())

    def count(self, country: int, service: str, operators: tuple = ()) -> int:
        return _pair_count((country, service), self.stock(operators), self.local_prices(), self.upstream_offers())

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


class PairCounts:
    __slots__ = ("_tables",)

    def __init__(self, stock: dict, local: dict, upstream: dict):
        self._tables = stock, local, upstream

    def __getitem__(self, pair: tuple) -> int:
        return _pair_count(pair, *self._tables)


def _pair_count(pair: tuple, stock: dict, local: dict, upstream: dict) -> int:
    """Numbers for sale for one (country, service): the pool's, if the operator priced the pair, plus upstreams'."""
    pool = stock_for(stock, *pair) if pair in local else 0
    return pool + (offers.upstream_stock(upstream, *pair) if upstream else 0)


def _on_own_thread(rebuild) -> None:
    """Rebuild a catalog value ahead of its expiry beside the request that noticed it is due,
    so that request is not the one that waits (a stock refresh takes 50-150 ms)."""
    def run():
        try:
            with db.connection():
                rebuild()
        except Exception:  # the value stays as it was; past its TTL a request rebuilds it
            log.exception("catalog refresh failed")
    threading.Thread(target=run, name="ypv-catalog-refresh", daemon=True).start()


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
