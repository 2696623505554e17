"""The catalog re-reads the price table only when price_version says it changed.

The version is kept by triggers in the database, so a change is seen whoever made it:
these tests change prices through a connection of their own, as SQL typed into a shell
or another process would, and the catalog still answers the new price once its cache
is due (a 2-second TTL on a fake clock).
"""

import sqlite3
from contextlib import closing

import psycopg
import pytest

from tests.conftest import FakeClock
from ypv import db, schema
from ypv.catalog import Catalog

PRICE_QUERY = "SELECT service_code, country_id, cost FROM price"


@pytest.fixture
def catalog(app, seed):
    """(a catalog with a 2-second cache on a fake clock, that clock)."""
    clock = FakeClock(100.0)
    return Catalog(ttl=2.0, clock=clock), clock


def _local_prices(catalog) -> dict:
    with db.connection():
        return catalog.local_prices()


def _outside(database_url: str, sql: str) -> None:
    """Run one statement on a connection of the test's own, not ypv's."""
    if database_url.startswith("sqlite"):
        with closing(sqlite3.connect(db.sqlite_path(database_url))) as connection, connection:
            connection.execute(sql)
    else:
        with psycopg.connect(database_url, autocommit=True) as connection:
            connection.execute(sql)


def test_unchanged_prices_are_not_read_again(catalog, sql_texts):
    catalog, clock = catalog
    first = _local_prices(catalog)
    assert first[(0, "tg")] == 150 and PRICE_QUERY in sql_texts
    for _ in range(3):
        clock.advance(2.0)
        sql_texts.clear()
        assert _local_prices(catalog) is first
        assert PRICE_QUERY not in sql_texts and "SELECT version FROM price_version" in sql_texts


@pytest.mark.parametrize("change,pair,cost", [
    ("UPDATE price SET cost = 999 WHERE service_code = 'tg' AND country_id = 0", (0, "tg"), 999),
    ("DELETE FROM price WHERE service_code = 'tg' AND country_id = 0", (0, "tg"), None),
    ("INSERT INTO price (service_code, country_id, cost) VALUES ('wa', 187, 420)", (187, "wa"), 420),
])
def test_a_change_made_around_ypv_is_read_once_due(catalog, database_url, change, pair, cost):
    catalog, clock = catalog
    before = _local_prices(catalog)
    _outside(database_url, change)
    clock.advance(1.9)
    assert _local_prices(catalog) is before               # within the TTL: the copy in hand
    clock.advance(0.1)
    after = _local_prices(catalog)
    assert after.get(pair) == cost
    assert {p: c for p, c in after.items() if p != pair} == {p: c for p, c in before.items() if p != pair}


def test_every_change_gives_a_new_version(app, seed, database_url):
    def version():
        with db.connection():
            return db.fetchone("SELECT version FROM price_version", ())[0]

    seen = [version()]
    for change in ("UPDATE price SET cost = cost + 1", "DELETE FROM price WHERE country_id = 187",
                   "INSERT INTO price (service_code, country_id, cost) VALUES ('tg', 187, 5)"):
        _outside(database_url, change)
        seen.append(version())
    assert len(set(seen)) == len(seen)


def test_the_triggers_are_created_once(app):
    schema.create_tables()
    schema.create_tables()
    with db.connection():
        if db.is_sqlite():
            names = [n for (n,) in db.database.execute_sql(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'price' ORDER BY name")]
            assert names == ["price_delete", "price_insert", "price_update"]
        else:
            names = [n for (n,) in db.database.execute_sql(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'price'::regclass AND NOT tgisinternal")]
            assert names == ["price_changed"]
        assert list(db.database.execute_sql("SELECT id FROM price_version")) == [(1,)]

