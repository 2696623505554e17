"""Reseller mode end to end: a second, real ypv is the upstream (its own database, catalog and key).

The three real client libraries run their whole-rental tests through the reseller;
codes delivered to the upstream reach the customer; cancels refund both sides;
the reseller's margin equals the markup on its sales.
"""

import json
import time
from decimal import Decimal

import pytest
import requests

from tests.conftest import live_server
from tests.test_clients import (  # noqa: F401  (collected here, run against the reseller)
    test_aiosmsactivate_balance_and_catalog, test_aiosmsactivate_rent_and_cancel,
    test_aiosmsactivate_rent_and_finish, test_aiosmsactivate_wait_sms_code, test_smsactivate_balance_and_catalog,
    test_smsactivate_number_v2_and_legacy_cancel, test_smsactivate_rent_and_cancel, test_smsactivate_rent_and_finish,
    test_smsactivateru_balance_and_catalog, test_smsactivateru_rent_and_cancel, test_smsactivateru_rent_and_finish,
)

POLL_SECONDS = 1
MARKUP_PERCENT, MARKUP_FIXED = Decimal("25"), Decimal("0.10")


class Reseller:
    """What the client tests need of a server, backed by a reseller and its upstream."""

    def __init__(self, reseller, upstream, api_key):
        self.server, self.upstream = reseller, upstream
        self.base_url, self.handler_url, self.api_key = reseller.base_url, reseller.handler_url, api_key

    def deliver_sms(self, phone, text):
        """The SMS reaches the upstream; the reseller sees it at its next poll of that activation."""
        self.upstream.deliver_sms(phone, text)
        time.sleep(POLL_SECONDS + 0.05)

    def balance(self):
        return self.server.balance(self.api_key)

    def get(self, **params):
        params.setdefault("api_key", self.api_key)
        r = requests.get(self.handler_url, params=params, timeout=30)
        return r.status_code, r.text


@pytest.fixture
def ypv_server(tmp_path, request):
    """The reseller, as a drop-in for the client tests' server (a customer with 1000.00)."""
    upstream = live_server(tmp_path / "upstream", request, env={"YPV_EARLY_CANCEL_SECONDS": "0"},
                           database_url=f"sqlite:///{tmp_path / 'upstream.sqlite3'}")
    key_file = tmp_path / "upstream.key"
    key_file.write_text(upstream.api_key + "\n")

    def configure(reseller):
        reseller.cli("account", "add", "customer@example.com")
        reseller.cli("wallet", "topup", "customer@example.com", "1000.00")
        reseller.cli("upstream", "add", "up", upstream.handler_url, "--key-file", str(key_file),
                     "--markup-percent", str(MARKUP_PERCENT), "--markup-fixed", str(MARKUP_FIXED),
                     "--order-id", "--timeout", "5")
        reseller.cli("upstream", "sync", "up")
        reseller.customer_key = reseller.cli("key", "issue", "customer@example.com").stdout.strip()

    reseller = live_server(tmp_path, request, demo=False, setup=configure,
                           env={"YPV_EARLY_CANCEL_SECONDS": "0", "YPV_UPSTREAM_POLL_SECONDS": str(POLL_SECONDS)})
    return Reseller(reseller, upstream, reseller.customer_key)


def _price(server, service="tg", country=0) -> Decimal:
    status, body = server.get(action="getPrices", service=service, country=country)
    return Decimal(str(json.loads(body)[str(country)][service]["cost"]))


def test_prices_are_the_upstreams_with_markup(ypv_server):
    upstream_cost = _price(ypv_server.upstream)
    expected = (upstream_cost * (1 + MARKUP_PERCENT / 100)).quantize(Decimal("0.01")) + MARKUP_FIXED
    assert _price(ypv_server) == expected


def test_cancel_refunds_both_sides_and_margin_is_markup_times_sales(ypv_server):
    reseller, upstream = ypv_server, ypv_server.upstream
    upstream_before, customer_before = Decimal(upstream.balance()), Decimal(reseller.balance())
    cost, price = _price(upstream), _price(reseller)

    sold = []
    for _ in range(3):
        _, body = reseller.get(action="getNumber", service="tg", country=0)
        assert body.startswith("ACCESS_NUMBER:"), body
        sold.append(body.split(":"))
    _, cancelled_id, _ = sold.pop()
    assert reseller.get(action="setStatus", id=cancelled_id, status=8) == (200, "ACCESS_CANCEL")
    for _, rental_id, phone in sold:
        reseller.deliver_sms(phone, "Your Telegram code: 24680")
        assert reseller.get(action="getStatus", id=rental_id) == (200, "STATUS_OK:24680")
        assert reseller.get(action="setStatus", id=rental_id, status=6) == (200, "ACCESS_ACTIVATION")

    assert Decimal(reseller.balance()) == customer_before - 2 * price
    assert Decimal(upstream.balance()) == upstream_before - 2 * cost
    report = reseller.server.cli("upstream", "report").stdout.splitlines()
    assert report[0] == "day\tupstream\tsold\tsales\tspend\tmargin"
    _, name, count, sales, spend, margin = report[1].split("\t")
    assert (name, count, Decimal(sales), Decimal(spend)) == ("up", "2", 2 * price, 2 * cost)
    assert Decimal(margin) == 2 * (price - cost)
    assert reseller.server.cli("ledger", "check").stdout.strip() == "ledger check ok"
    assert upstream.cli("ledger", "check").stdout.strip() == "ledger check ok"
    listing = reseller.server.cli("upstream", "list").stdout.splitlines()
    assert listing[1].split("\t")[:4] == ["up", "100", "25%+0.10", "OK"]
    assert upstream.api_key not in "".join(listing)
