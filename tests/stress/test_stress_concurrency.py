"""Issue 6, item 1: concurrency against a real gunicorn, on the suite's backend (SQLite or PostgreSQL).

* one wallet funded for exactly 100 rentals, 8 threads × 50 getNumber: exactly 100 sold, 0.00 left, 0 errors;
* 50 free numbers, 400 concurrent purchases from many funded accounts: exactly 50 sold, no number twice;
* 100 rentals × 10 concurrent cancels while the expiry sweeper runs: exactly one refund each;
* 100 rentals with a code × 10 concurrent finishes: every answer ACCESS_ACTIVATION.

Rounds are bounded in CI; ``YPV_STRESS=long`` runs the figures docs/reliability.md publishes.
"""

import itertools
import random
import time
from collections import Counter

import pytest
import requests
from peewee import fn

from tests.conftest import live_server
from tests.stress.support import Hammer, add_pool, call, price, provision, report, size
from ypv import db
from ypv.catalog import Catalog, import_catalog
from ypv.models import LIVE_STATES, Ledger, Rental
from ypv.money import render

pytestmark = pytest.mark.live

STRESS_COUNTRY = {"id": 900, "eng": "Stressland", "phone_code": 999}
TTL = 3  # rental lifetime in the cancel test: long enough to buy 100 first, even on a busy machine


def _finish(server) -> None:
    """Books balance, then a clean shutdown and a log without a single error."""
    assert server.cli("ledger", "check").stdout.strip() == "ledger check ok"
    server.stop()
    log = server.log_path.read_text()
    for bad in ("Traceback", "database is locked", "ERROR", "deadlock"):
        assert bad not in log, f"{bad!r} in the server log"


def _balance(server, key) -> tuple[int, str]:
    with requests.Session() as session:
        return call(session, server.handler_url, api_key=key, action="getBalance")


def _kinds(answers) -> Counter:
    return Counter(body.split(":")[0] for _, body in answers)


def test_one_wallet_eight_threads_sells_exactly_what_it_pays_for(tmp_path, request):
    rounds = size(4, 20)
    server = live_server(tmp_path, request)
    add_pool(server.database_url, 100 * rounds)
    cost = price(server.database_url, "tg", 0)
    phones, started = [], time.monotonic()
    for number in range(rounds):
        key = provision(server.database_url, 1, 100 * cost, prefix=f"wallet{number}-")[0]

        def buyer(session, _):
            return [call(session, server.handler_url, api_key=key, action="getNumber", service="tg", country=0)
                    for _ in range(50)]

        answers = [a for batch in Hammer(8).run(buyer) for a in batch]
        assert Counter(status for status, _ in answers) == {200: 400}
        assert _kinds(answers) == {"ACCESS_NUMBER": 100, "NO_BALANCE": 300}
        assert _balance(server, key) == (200, "ACCESS_BALANCE:0.00")
        phones += [body.split(":")[2] for _, body in answers if body.startswith("ACCESS_NUMBER:")]
    assert len(phones) == len(set(phones)) == 100 * rounds
    _finish(server)
    report("one wallet, 8 threads x 50 getNumber", rounds=rounds, requests=400 * rounds, sold=len(phones),
           errors=0, seconds=round(time.monotonic() - started, 1))


def _live_rentals_per_number(database_url) -> Counter:
    db.open_database(database_url)
    with db.connection():
        live = Rental.select(Rental.number).where(Rental.state.in_(LIVE_STATES)).tuples()
        return Counter(number for (number,) in live)


def test_fifty_numbers_four_hundred_buyers_sell_exactly_fifty(tmp_path, request):
    rounds = size(3, 20)
    server = live_server(tmp_path, request, env={"YPV_STOCK_CACHE_SECONDS": "0.001"})
    db.open_database(server.database_url)
    with db.connection():
        import_catalog({"countries": [STRESS_COUNTRY], "prices": [{"service": "tg", "country": 900, "cost": "1.00"}]})
    buyers = provision(server.database_url, 40, 100_000)
    spent, started = Counter(), time.monotonic()
    for number in range(rounds):
        add_pool(server.database_url, 50, country=900, start=99_900_000_000 + 1000 * number)

        def buyer(session, index):
            mine = buyers[index % 8::8]  # 16 threads, 5 accounts each, 25 purchases per thread
            return [(key, *call(session, server.handler_url, api_key=key, action="getNumber", service="tg",
                                country=900)) for key in mine * 5]

        answers = [a for batch in Hammer(16).run(buyer) for a in batch]
        assert Counter(status for _, status, _ in answers) == {200: 400}
        assert _kinds([a[1:] for a in answers]) == {"ACCESS_NUMBER": 50, "NO_NUMBERS": 350}
        assert len({body for _, _, body in answers if body.startswith("ACCESS_NUMBER:")}) == 50
        assert set(_live_rentals_per_number(server.database_url).values()) == {1}
        spent.update(key for key, _, body in answers if body.startswith("ACCESS_NUMBER:"))
        for key in buyers:
            assert _balance(server, key) == (200, f"ACCESS_BALANCE:{render(100_000 - 100 * spent[key])}")
    assert sum(spent.values()) == 50 * rounds
    _finish(server)
    report("50 numbers, 400 concurrent purchases, 40 accounts", rounds=rounds, purchases=400 * rounds,
           sold=sum(spent.values()), seconds=round(time.monotonic() - started, 1))


def _refunds_per_rental(database_url, rental_ids) -> Counter:
    db.open_database(database_url)
    with db.connection():
        rows = (Ledger.select(Ledger.rental, fn.COUNT(Ledger.id))
                .where((Ledger.kind == "refund") & Ledger.rental.in_(rental_ids)).group_by(Ledger.rental).tuples())
        return Counter(dict(rows))


def _cancel_storm(server, key, ids) -> list:
    """10 threads, each cancelling every rental in its own random order."""
    def canceller(session, index):
        order = random.Random(index).sample(ids, len(ids))
        return [call(session, server.handler_url, api_key=key, action="setStatus", id=i, status=8) for i in order]

    return [a for batch in Hammer(10).run(canceller) for a in batch]


def _expired_by_time(database_url, ids) -> int:
    """How many of these ended at or after their expiry (the sweeper, or expiry-on-read, got there first)."""
    with db.connection():
        return Rental.select().where(Rental.id.in_(ids) & (Rental.ended_at >= Rental.expires_at)).count()


def test_ten_concurrent_cancels_while_the_sweeper_expires_refund_exactly_once(tmp_path, request):
    rounds = size(3, 20)
    server = live_server(tmp_path, request, env={"YPV_EARLY_CANCEL_SECONDS": "0", "YPV_RENTAL_TTL_SECONDS": str(TTL),
                                                 "YPV_SWEEPER_INTERVAL_SECONDS": "0.05"})
    add_pool(server.database_url, 100 * rounds)
    cost = price(server.database_url, "tg", 0)
    expired, started = 0, time.monotonic()
    for number in range(rounds):
        key = provision(server.database_url, 1, 100 * cost, prefix=f"cancel{number}-")[0]
        first = time.time()
        with requests.Session() as session:
            bought = [call(session, server.handler_url, api_key=key, action="getNumber", service="tg")
                      for _ in range(100)]
        ids = [int(body.split(":")[1]) for _, body in bought]
        assert _kinds(bought) == {"ACCESS_NUMBER": 100}
        # The first rentals expire at int(first) + TTL: start the storm just before or after that,
        # so some cancels win and the sweeper (every 0.05 s) wins others while cancels still come.
        time.sleep(max(0.0, int(first) + TTL - (0.2, 0.05, -0.1)[number % 3] - time.time()))
        answers = _cancel_storm(server, key, ids)
        assert Counter(answers) == {(200, "ACCESS_CANCEL"): 1000}
        assert _refunds_per_rental(server.database_url, ids) == Counter(dict.fromkeys(ids, 1))
        assert _balance(server, key) == (200, f"ACCESS_BALANCE:{render(100 * cost)}")
        expired += _expired_by_time(server.database_url, ids)
    assert 0 < expired < 100 * rounds  # both the cancels and the sweeper won some: the race really ran
    _finish(server)
    report("100 rentals x 10 concurrent cancels with the sweeper", rounds=rounds, cancels=1000 * rounds,
           refunds=100 * rounds, ended_by_expiry=expired, seconds=round(time.monotonic() - started, 1))


def test_ten_concurrent_finishes_per_rental_all_answer_access_activation(tmp_path, request):
    """PROTOCOL.md: a repeated setStatus 6 is harmless. Also when the repeats arrive together:
    every caller but one loses the conditional UPDATE, and each must still hear ACCESS_ACTIVATION."""
    rounds = size(2, 20)
    server = live_server(tmp_path, request)
    add_pool(server.database_url, 100 * rounds)
    cost = price(server.database_url, "tg", 0)
    for number in range(rounds):
        key = provision(server.database_url, 1, 100 * cost, prefix=f"finish{number}-")[0]
        with requests.Session() as session:
            bought = [call(session, server.handler_url, api_key=key, action="getNumber", service="tg")
                      for _ in range(100)]
        assert _kinds(bought) == {"ACCESS_NUMBER": 100}
        ids = [int(body.split(":")[1]) for _, body in bought]
        for _, body in bought:
            server.deliver_sms(body.split(":")[2], "Your code: 12345")

        def finisher(session, index):
            order = random.Random(index).sample(ids, len(ids))
            return [call(session, server.handler_url, api_key=key, action="setStatus", id=i, status=6)
                    for i in order]

        answers = [a for batch in Hammer(10).run(finisher) for a in batch]
        assert Counter(answers) == {(200, "ACCESS_ACTIVATION"): 1000}
        assert _refunds_per_rental(server.database_url, ids) == Counter()
        with db.connection():
            assert Counter(r.state for r in Rental.select().where(Rental.id.in_(ids))) == {"finished": 100}
    _finish(server)


def test_a_cache_entry_expiring_mid_lookup_is_a_miss_not_bad_country():
    """Found by the fifty-numbers test: `key in cache` then `cache[key]` read the clock twice, so an
    entry expiring in between raised KeyError, which Catalog.country() answers as BAD_COUNTRY."""
    ticks = itertools.count(0, 0.25)  # every clock read moves time on, as a busy server does
    catalog = Catalog(ttl=1.0, clock=lambda: next(ticks))
    computed = []
    for i in range(100):
        assert catalog._cached("countries", lambda: computed.append(i) or {0: "Russia"}) == {0: "Russia"}
    assert len(computed) == 25
