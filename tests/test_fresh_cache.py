"""FreshCache: data never older than the ttl, one builder per key, and nobody waiting under steady traffic."""

import threading
import time

import pytest

from tests.conftest import FakeClock
from ypv.fresh_cache import FreshCache


@pytest.fixture
def clock():
    return FakeClock(100.0)


@pytest.fixture
def cache(clock):
    return FreshCache(ttl=2.0, clock=clock, refresh_at=0.75)   # as the service runs it


def test_a_value_is_as_old_as_the_oldest_value_it_was_built_from(cache, clock):
    stock = lambda: cache.get("stock", lambda: ("stock", clock.now))  # noqa: E731
    stock()
    clock.now = 101.0
    assert cache.get("body", lambda: ("body", stock())) == ("body", ("stock", 100.0))   # born at 100
    clock.now = 101.4
    assert cache.get("body", lambda: "not rebuilt") == ("body", ("stock", 100.0))
    clock.now = 101.5     # the body was built 0.5 s ago, but from data 1.5 s old: rebuilt, stock too
    assert cache.get("body", lambda: ("body", stock())) == ("body", ("stock", 101.5))


def test_clear_forgets_everything(cache):
    cache.get("x", lambda: 1)
    cache.clear()
    assert cache.get("x", lambda: 2) == 2


def test_a_failed_build_stores_nothing_and_frees_the_key(cache):
    def boom():
        raise RuntimeError("database went away")
    with pytest.raises(RuntimeError):
        cache.get("x", boom)
    assert cache.get("x", lambda: "built") == "built"


def test_an_expired_value_is_built_once_while_the_others_wait():
    cache = FreshCache(ttl=2.0)
    calls, results = [], []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return "stock"

    threads = [threading.Thread(target=lambda: results.append(cache.get("stock", slow))) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(calls), results) == (1, ["stock"] * 8)


def test_a_value_due_for_refresh_is_served_while_one_thread_rebuilds_it(cache, clock):
    cache.get("stock", lambda: "old")
    clock.now += 1.6                       # past 3/4 of the ttl, not expired
    building, release = threading.Event(), threading.Event()

    def rebuild():
        building.set()
        release.wait(5)
        return "new"

    rebuilder = threading.Thread(target=lambda: cache.get("stock", rebuild))
    rebuilder.start()
    assert building.wait(5)
    assert cache.get("stock", lambda: "must not be called") == "old"   # no waiting
    release.set()
    rebuilder.join()
    assert cache.get("stock", lambda: "must not be called") == "new"


def test_past_the_ttl_nobody_gets_the_old_value(cache, clock):
    cache.get("stock", lambda: "old")
    clock.now += 2.0
    assert cache.get("stock", lambda: "new") == "new"


def test_without_refresh_ahead_a_value_lives_its_whole_ttl(clock):
    cache = FreshCache(ttl=2.0, clock=clock)
    cache.get("stock", lambda: "old")
    clock.now += 1.99
    assert cache.get("stock", lambda: "new") == "old"
    clock.now += 0.01
    assert cache.get("stock", lambda: "new") == "new"


def test_in_background_mode_the_request_that_starts_a_rebuild_does_not_wait(clock):
    started = []
    cache = FreshCache(ttl=2.0, clock=clock, refresh_at=0.75, background=started.append)
    cache.get("stock", lambda: "old")
    clock.now += 1.6
    assert cache.get("stock", lambda: "new") == "old"      # the rebuild was handed over, not run
    assert cache.get("stock", lambda: "newer") == "old"    # one rebuild at a time
    started[0]()                                            # the other thread runs it
    assert cache.get("stock", lambda: "newest") == "new"
    assert len(started) == 1


def test_in_background_mode_an_expired_value_is_still_built_in_place(clock):
    started = []
    cache = FreshCache(ttl=2.0, clock=clock, refresh_at=0.75, background=started.append)
    cache.get("stock", lambda: "old")
    clock.now += 2.5
    assert cache.get("stock", lambda: "new") == "new"
    assert started == []


def test_a_build_waits_for_an_input_being_rebuilt_rather_than_be_born_old(cache, clock):
    cache.get("stock", lambda: "old stock")
    clock.now += 1.6                       # stock is due, not expired; the body was never built
    building, release = threading.Event(), threading.Event()

    def rebuild_stock():
        building.set()
        release.wait(5)
        return "new stock"

    rebuilder = threading.Thread(target=lambda: cache.get("stock", rebuild_stock))
    rebuilder.start()
    assert building.wait(5)
    threading.Timer(0.2, release.set).start()
    body = cache.get("body", lambda: ("body", cache.get("stock", lambda: "must not be called")))
    rebuilder.join()
    assert body == ("body", "new stock")   # born with the new stock, so not due again at once
    clock.now += 1.4
    assert cache.get("body", lambda: "must not be called") == ("body", "new stock")
