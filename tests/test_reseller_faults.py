"""Reseller mode against a fault-injecting upstream on 127.0.0.1 (in-process app, real HTTP upstream).

After every scenario: no customer is charged for a number they did not get, nothing
the upstream sold is left running unpaid, and the ledger is clean.
"""

import pytest

from tests.conftest import Seed
from tests.fake_upstream import FakeUpstream
from ypv import db, wallet
from ypv.models import Rental, Upstream
from ypv.upstream import orphans, registry, sync

PRICE_TG = "1.35"  # upstream 1.00 + 25 % + 0.10


@pytest.fixture
def fakes():
    made = []

    def make(**kwargs):
        fake = FakeUpstream(**kwargs)
        made.append(fake)
        return fake
    yield make
    for fake in made:
        fake.close()


@pytest.fixture
def customer(app, clock) -> Seed:
    seed = Seed(key="", account_id=0, clock=clock)
    seed.account_id = seed.add_account("buyer@example.com", 10_000)
    seed.key = seed.add_key()
    return seed


@pytest.fixture
def api(client, customer):
    from tests.conftest import Api
    return Api(client, customer.key)


def add_upstream(fake, clock, name="fake", priority=1, order_id=True, timeout=2.0):
    with db.connection():
        upstream = registry.add(name, fake.url, fake.key, int(clock()), priority=priority, timeout=timeout,
                                markup_bp=2500, markup_fixed=10, honours_order_id=order_id)
        sync.sync(upstream, int(clock()))
    app_catalog_clear()
    return upstream


def app_catalog_clear():
    """The app caches the catalog for 1 ns in tests; nothing to do but keep the intent explicit."""


def settle(upstream, clock, fake=None):
    """Once the upstream has finished acting, let the reconciler run as the worker would (grace 0),
    and check the books. (A late request on a loaded machine can sell after our timeout.)"""
    if fake is not None:
        fake.wait_idle()
    with db.connection():
        # A patient client for the reconciler: the buying timeout is short on purpose, this pass must not time out.
        Upstream.update(timeout_ms=30_000).where(Upstream.id == upstream.id).execute()
        orphans.reconcile(Upstream.get_by_id(upstream.id), int(clock()), grace=0)
        assert wallet.ledger_mismatches() == []
        return {r for (r,) in Rental.select(Rental.upstream_id).where(
            Rental.upstream_id.is_null(False) & Rental.state.in_(("waiting", "code", "retry"))).tuples()}


def test_sync_shows_our_prices_and_upstream_stock(api, fakes, clock):
    add_upstream(fakes(), clock)
    assert api.body("getPrices", service="tg") == \
        '{"0":{"tg":{"cost":1.35,"count":50}},"187":{"tg":{"cost":3.85,"count":50}}}'
    assert api.body("getServicesList") == \
        '{"status":"success","services":[{"code":"tg","name":"Telegram"},{"code":"wa","name":"WhatsApp"}]}'
    assert api.body("getCountries").startswith('{"0":{"id":0,"rus":"Россия","eng":"Russia"')


def test_a_sale(api, fakes, clock):
    fake = fakes()
    upstream = add_upstream(fake, clock)
    body = api.body("getNumber", service="tg", country=0)
    assert body == "ACCESS_NUMBER:1:79990001001"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"
    assert settle(upstream, clock) == {"1000"} == fake.running()


@pytest.mark.parametrize("order_id", [True, False], ids=["orderId", "no-orderId"])
@pytest.mark.parametrize("fault", ["no_balance", "bad_key", "5xx_before", "refused_html",
                                   "5xx", "html", "garbage", "drop", "delay"])
def test_faults_never_charge_without_a_number_nor_leave_orphans(api, fakes, clock, fault, order_id):
    fake = fakes()
    upstream = add_upstream(fake, clock, order_id=order_id)
    fake.fault, fake.delay = fault, 3.0  # "delay" answers 1 s after the 2 s timeout
    assert api("getNumber", service="tg", country=0) == (200, "text/plain; charset=utf-8", "NO_NUMBERS")
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert settle(upstream, clock, fake) == set()
    assert fake.running() == set()  # whatever it sold was cancelled
    with db.connection():
        row = Upstream.get_by_id(upstream.id)
    assert row.status == "error" and row.last_error.startswith("getNumber: ")
    assert fake.key not in row.last_error


def test_an_ambiguous_sale_is_recovered_through_order_id(api, fakes, clock):
    fake = fakes()
    upstream = add_upstream(fake, clock, order_id=True)
    fake.fault = "drop"
    calls = []
    original = fake.answer

    def drop_once(params):
        if params.get("action") == "getNumber":
            calls.append(params.get("orderId"))
            if len(calls) == 2:
                fake.fault = None
        return original(params)
    fake.answer = drop_once
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:1:79990001001"
    assert calls == ["ypv-1", "ypv-1"]
    assert len(fake.activations) == 1
    assert settle(upstream, clock) == {"1000"} == fake.running()
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"


def test_failover_to_the_next_upstream_by_priority(api, fakes, clock):
    broken, good = fakes(), fakes(phone_base=78880000000)
    first = add_upstream(broken, clock, name="first", priority=1)
    second = add_upstream(good, clock, name="second", priority=2)
    broken.fault = "5xx"
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:1:78880001001"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"
    settle(first, clock)
    assert settle(second, clock) == {"1000"}
    assert broken.running() == set() and good.running() == {"1000"}


def test_no_numbers_anywhere_is_no_numbers_without_alert(api, fakes, clock):
    fake = fakes(stock=1)
    upstream = add_upstream(fake, clock)
    assert api.body("getNumber", service="tg").startswith("ACCESS_NUMBER:")
    assert api.body("getNumber", service="tg") == "NO_NUMBERS"
    with db.connection():
        assert Upstream.get_by_id(upstream.id).status == "ok"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"


def test_polling_is_rate_limited_per_activation(api, fakes, clock, config, app):
    fake = fakes()
    add_upstream(fake, clock)
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    before = fake.calls["getStatus"]
    for _ in range(20):
        assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_CODE"
    assert fake.calls["getStatus"] - before == 1
    fake.deliver("1000", "51234")
    clock.advance(config.upstream_poll_seconds - 1)
    assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_CODE"
    clock.advance(1)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:51234"
    assert api.body("getFullSms", id=rental_id) == "FULL_SMS:Your code is 51234"
    for _ in range(20):
        api.body("getStatusV2", id=rental_id)
    assert fake.calls["getStatus"] - before == 2


def test_status_changes_are_forwarded(api, fakes, clock, config):
    fake = fakes()
    add_upstream(fake, clock)
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    assert api.body("setStatus", id=rental_id, status=1) == "ACCESS_READY"
    fake.deliver("1000", "11111")
    clock.advance(config.upstream_poll_seconds)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:11111"
    assert api.body("setStatus", id=rental_id, status=3) == "ACCESS_RETRY_GET"
    assert fake.activations["1000"]["status"] == "retry"
    fake.deliver("1000", "22222")
    clock.advance(config.upstream_poll_seconds)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:22222"
    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"
    assert fake.activations["1000"]["status"] == "done"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"


def test_cancel_refunds_only_when_the_upstream_accepts(api, fakes, clock, config):
    fake = fakes()
    upstream = add_upstream(fake, clock)
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    clock.advance(config.early_cancel_seconds)
    original = fake._do_setStatus
    fake._do_setStatus = lambda p: (200, "EARLY_CANCEL_DENIED", None)
    assert api.body("setStatus", id=rental_id, status=8) == "EARLY_CANCEL_DENIED"
    fake._do_setStatus = lambda p: (503, "down", None)
    assert api.body("setStatus", id=rental_id, status=8) == "ERROR_SQL"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"
    fake._do_setStatus = original
    assert api.body("setStatus", id=rental_id, status=8) == "ACCESS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert fake.activations["1000"]["status"] == "cancel"
    assert api.body("setStatus", id=rental_id, status=8) == "ACCESS_CANCEL"
    assert settle(upstream, clock) == set()


def test_expiry_follows_our_lifetime_and_cancels_upstream(api, fakes, clock, config):
    fake = fakes()
    add_upstream(fake, clock)
    waiting = api.body("getNumber", service="tg").split(":")[1]
    coded = api.body("getNumber", service="tg").split(":")[1]
    fake.deliver("1001", "4321")
    clock.advance(config.rental_ttl_seconds)
    assert api.body("getStatus", id=waiting) == "STATUS_CANCEL"
    assert api.body("getStatus", id=coded) == "STATUS_OK:4321"
    assert fake.activations["1000"]["status"] == "cancel"
    assert fake.activations["1001"]["status"] == "done"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.65"


def test_upstream_cancelling_on_its_own_refunds_the_customer(api, fakes, clock, config):
    fake = fakes()
    add_upstream(fake, clock)
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    fake.activations["1000"]["status"] = "cancel"
    clock.advance(config.upstream_poll_seconds)
    assert api.body("getStatus", id=rental_id) == "STATUS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"


def test_a_crash_mid_purchase_is_recovered(api, fakes, clock, customer):
    """A pending purchase left behind by a crash is refunded; what was sold is cancelled as an orphan."""
    from ypv.upstream import buying
    fake = fakes()
    upstream = add_upstream(fake, clock)
    fake.answer({"action": "getNumber", "api_key": fake.key, "service": "tg", "country": "0"})
    now = int(clock())
    with db.connection(), db.write_transaction():
        wallet.take(customer.account_id, 135)
        rental = Rental.create(account=customer.account_id, service="tg", country=0, phone="", cost=135,
                               state="pending", provider="upstream", created_at=now, state_at=now, expires_at=now + 1200)
        wallet.record_charge(customer.account_id, rental.id, 135, now)
    clock.advance(120)
    with db.connection():
        assert buying.fail_stale_pending(int(clock()), 90) == 1
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert settle(upstream, clock) == set() and fake.running() == set()
