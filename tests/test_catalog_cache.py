"""Cached catalog answers: the same bytes as a fresh build, never older than their inputs.

The suite's other tests run with a 1 ns cache (every request rebuilds); these run
the catalog with a real TTL on a fake clock, where the cached paths are taken.
"""

import json

import pytest

from tests.conftest import FakeClock
from ypv import catalog_actions, db
from ypv.catalog import Catalog
from ypv.context import Ctx


@pytest.fixture
def cached(app, seed, config):
    """(ctx with a 2-second catalog cache on a fake clock, that clock)."""
    clock = FakeClock(100.0)
    catalog = Catalog(ttl=2.0, clock=clock)
    return Ctx(key=None, now=int(seed.clock()), config=config, catalog=catalog), clock


def _body(ctx, action, **params) -> bytes:
    """The body as sent: cached answers are the same bytes object each time."""
    with db.connection():
        return getattr(catalog_actions, action)(ctx, {k: str(v) for k, v in params.items()}).render()[1]


ACTIONS = [("get_prices", {}), ("get_prices", {"service": "tg"}), ("get_prices", {"country": 0}),
           ("get_numbers_status", {}), ("get_numbers_status", {"operator": "mts"}),
           ("get_top_countries", {"service": "tg"}), ("get_countries", {}), ("get_services_list", {}),
           ("get_services_list", {"country": 187}), ("get_operators", {})]


@pytest.mark.parametrize("action,params", ACTIONS)
def test_cached_bytes_equal_a_fresh_build(cached, config, api, action, params):
    ctx, clock = cached
    first = _body(ctx, action, **params)
    assert _body(ctx, action, **params) is first          # served from the cache
    fresh = Ctx(key=None, now=ctx.now, config=config, catalog=Catalog(ttl=1e-9))
    assert _body(fresh, action, **params) == first


def test_a_sale_shows_once_the_stock_is_re_read(cached, api):
    ctx, clock = cached
    before = _body(ctx, "get_prices", service="tg", country=0)
    assert before == b'{"0":{"tg":{"cost":1.5,"count":5}}}'
    assert api.body("getNumber", service="tg", country=0).startswith("ACCESS_NUMBER:")
    clock.now += 1.9
    assert _body(ctx, "get_prices", service="tg", country=0) is before    # stale, within the TTL
    clock.now += 0.1
    assert _body(ctx, "get_prices", service="tg", country=0) == b'{"0":{"tg":{"cost":1.5,"count":4}}}'


def test_clear_drops_cached_bodies(cached):
    ctx, _ = cached
    first = _body(ctx, "get_countries")
    ctx.catalog.clear()
    assert _body(ctx, "get_countries") is not first


class _Prices:
    """Just what prices_json reads, with names JSON must escape and costs of every shape."""

    def prices(self):
        return {(0, "tg"): 150, (0, 'q"ü\\'): 1, (187, "tg"): 300, (5, "zz"): 12_345_678, (5, "ab"): 10}

    def counts(self, operators=()):
        return {pair: i * 7 for i, pair in enumerate(sorted(self.prices()))}


@pytest.mark.parametrize("service,country", [(None, None), ("tg", None), (None, 5), ("tg", 0), ("zz", 0)])
def test_prices_json_is_what_json_dumps_makes(service, country):
    catalog = _Prices()
    ctx = Ctx(key=None, now=0, config=None, catalog=catalog)
    expected: dict = {}
    for (c, s), cost in sorted(catalog.prices().items()):
        if (country is None or c == country) and (service is None or s == service):
            expected.setdefault(str(c), {})[s] = {"cost": cost / 100, "count": catalog.counts()[(c, s)]}
    text = json.dumps(expected, ensure_ascii=False, separators=(",", ":"))
    assert catalog_actions.prices_json(ctx, service, country) == text
