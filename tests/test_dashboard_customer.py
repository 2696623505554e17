"""The customer's pages (WebTest): overview, API keys, rentals and wallet history, isolation."""

import pytest

from tests.web import add_numbers, config, fast_hashing, main_text, outbox, people, words  # noqa: F401
from ypv import db, keys, sms, wallet
from ypv.models import ApiKey

CUSTOMER = "customer@example.com"  # the seed fixture's account: 100.00 and an all-scope key


@pytest.fixture
def me(people, seed):
    people.give_password(CUSTOMER)
    return people.signed_in(CUSTOMER)


def _cells(page, table_id=None):
    rows = page.html.select(f"#{table_id} tbody tr" if table_id else "main tbody tr")
    return [[" ".join(td.get_text(" ").split()) for td in row.select("td")] for row in rows]


def test_private_pages_send_visitors_to_log_in(people):
    for path in ("/dashboard", "/dashboard/api", "/dashboard/rentals", "/dashboard/wallet",
                 "/dashboard/api/keys/1/revoke", "/password"):
        assert people.browser().get(path).location == "/login?next=" + path
    refused = people.browser().post("/dashboard/api", {"label": "x"}, expect_errors=True)
    assert refused.location == "/login?next=/dashboard/api"


def test_operators_are_sent_to_their_own_area(people):
    people.add("boss@example.com", admin=True)
    boss = people.signed_in("boss@example.com")
    assert [boss.get(p).location for p in ("/dashboard", "/dashboard/api", "/dashboard/wallet")] == ["/admin"] * 3


def test_overview_empty(me):
    page = me.get("/dashboard")
    assert [words(c) for c in page.html.select(".stat")] == [
        "Balance 100.00 USD Wallet history", "Live rentals 0 All rentals", "Active API keys 1 Manage keys"]
    assert words(page.html.select_one("p.empty")) == (
        "No live rentals right now. Rent a number with your API key ( action=getNumber ); it shows up here "
        "with its code.")
    assert 'http-equiv="refresh"' not in page.text


def test_overview_shows_live_rentals_and_their_codes(me, api, seed, clock):
    assert api.body("getNumber", service="tg", country=0) == "ACCESS_NUMBER:1:79000000001"
    clock.advance(30)
    page = me.get("/dashboard")
    assert _cells(page) == [["1", "+79000000001", "Telegram", "19 min 30 s", "waiting…"]]
    assert '<meta http-equiv="refresh" content="5">' in page.text
    with db.connection():
        sms.deliver("79000000001", "Your Telegram code: 51234", int(clock()))
    assert _cells(me.get("/dashboard")) == [["1", "+79000000001", "Telegram", "19 min 30 s", "51234"]]
    assert me.get("/dashboard").html.select_one("#balance").text == "98.50 USD"


def test_api_page_lists_keys_with_their_details(me, seed, clock):
    page = me.get("/dashboard/api")
    assert page.html.select_one("code.block").text == "http://localhost:80/stubs/handler_api.php"
    assert _cells(page, "keys") == [[seed.key[:16] + "…", "—", "balance, prices, purchase, cancel", "600/min",
                                     "Active", "2026-09-21 14:13 UTC", "never", "Revoke"]]


def test_request_a_key_shows_it_as_pending(me, clock):
    form = me.get("/dashboard/api").forms["request-key"]
    form["label"] = "  staging   box "
    form["scope_cancel"] = False
    form["scope_purchase"] = False
    done = form.submit()
    assert done.location == "/dashboard/api?notice=key-requested"
    page = me.get(done.location)
    assert page.html.select_one(".notice").text == ("Request sent. An admin approves keys, usually within 24 "
                                                    "hours; the key is then e-mailed to you once.")
    assert _cells(page, "keys")[0] == ["—", "staging box", "balance, prices", "600/min", "Pending approval",
                                       "2026-09-21 14:13 UTC", "never", ""]


def test_request_form_errors(me):
    form = me.get("/dashboard/api").forms["request-key"]
    for scope in ("balance", "prices", "purchase", "cancel"):
        form[f"scope_{scope}"] = False
    none = form.submit(expect_errors=True)
    assert (none.status_int, none.html.select_one(".error").text) == (422, "Choose at least one scope.")
    form = me.get("/dashboard/api").forms["request-key"]
    form["label"] = "x" * 61
    long = form.submit(expect_errors=True)
    assert (long.status_int, long.html.select_one(".error").text) == \
        (422, "Keep the label to 60 characters or fewer.")
    for _ in range(3):
        assert me.get("/dashboard/api").forms["request-key"].submit().status_int == 303
    many = me.get("/dashboard/api").forms["request-key"].submit(expect_errors=True)
    assert (many.status_int, many.html.select_one(".error").text) == \
        (422, "You already have 3 requests waiting for approval.")


def test_denied_requests_show_the_reason(me, seed, people, clock):
    request_id = people.key_request(seed.account_id, "ci")
    with db.connection():
        keys.deny_request(request_id, "Tell us what you will use it for", int(clock()))
    row = _cells(me.get("/dashboard/api"), "keys")[0]
    assert row[:5] == ["—", "ci", "balance, prices, purchase, cancel", "600/min",
                       "Denied Reason: Tell us what you will use it for"]


def test_revoke_asks_first_then_the_key_stops_working(me, api, seed):
    confirm = me.get(me.get("/dashboard/api").html.select_one("a.danger")["href"])
    assert main_text(confirm) == (f"Revoke key {seed.key[:16]}…? scopes balance, prices, purchase, cancel. "
                                  "Programs using this key get BAD_KEY from their very next request. This cannot "
                                  "be undone. Revoke key Cancel")
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"
    done = confirm.forms["revoke"].submit()
    assert done.location == "/dashboard/api?notice=key-revoked"
    assert api("getBalance")[2] == "BAD_KEY"
    page = me.get(done.location)
    assert page.html.select_one(".notice").text == "Key revoked. Requests with it now get BAD_KEY."
    assert _cells(page, "keys")[0][4] == "Revoked"
    again = me.get(confirm.request.path, expect_errors=True)
    assert (again.status_int, again.html.find("h1").text) == (404, "No such key")


def test_another_customers_data_is_out_of_reach(me, api, seed, people):
    api.body("getNumber", service="tg", country=0)
    people.add("eve@example.com", balance=500)
    eve = people.signed_in("eve@example.com")
    with db.connection():
        key_id = ApiKey.get(ApiKey.account == seed.account_id).id
    peek = eve.get(f"/dashboard/api/keys/{key_id}/revoke", expect_errors=True)
    assert (peek.status_int, main_text(peek)) == (404, "No such key There is no active key with that number on "
                                                       "your account. Go to the start page")
    token = eve.get("/dashboard/api").html.select_one('input[name="csrf"]')["value"]
    forged = eve.post(f"/dashboard/api/keys/{key_id}/revoke", {"csrf": token}, expect_errors=True)
    assert forged.status_int == 404
    assert api("getBalance")[2] == "ACCESS_BALANCE:98.50"
    assert _cells(eve.get("/dashboard/api"), "keys") == []
    assert eve.get("/dashboard/rentals").html.select_one("p.empty") is not None
    assert [r[1] for r in _cells(eve.get("/dashboard/wallet"))] == ["Top-up"]
    assert "79000000001" not in eve.get("/dashboard").text


def test_rentals_history_newest_first_and_paginated(me, api, seed, clock):
    with db.connection(), db.write_transaction():
        wallet.credit(seed.account_id, 100_000, "topup", int(clock()))
    add_numbers(25, clock)
    for _ in range(25):
        assert api.body("getNumber", service="ot", country=0).startswith("ACCESS_NUMBER:")
        clock.advance(60)
    first = me.get("/dashboard/rentals")
    ids = [int(r[0]) for r in _cells(first)]
    assert ids == list(range(25, 5, -1))
    assert _cells(first)[0][2:] == ["Any other", "+79700000019", "Waiting for SMS", "—", "0.25 USD"]
    assert [a.text for a in first.html.select(".pager a")] == ["Older →"]
    second = me.get("/dashboard/rentals?page=2")
    assert [int(r[0]) for r in _cells(second)] == [5, 4, 3, 2, 1]
    assert [a.text for a in second.html.select(".pager a")] == ["← Newer"]
    beyond = me.get("/dashboard/rentals?page=3")
    assert words(beyond.html.select_one("p.empty")) == "No older rentals. Back to the newest"


def test_rentals_history_empty(me):
    assert me.get("/dashboard/rentals").html.select_one("p.empty").text == (
        "No rentals yet. Numbers you rent through the API are listed here, newest first.")


def test_wallet_history_newest_first_and_paginated(me, seed, clock):
    with db.connection(), db.write_transaction():
        for i in range(1, 22):
            wallet.credit(seed.account_id, i, "topup", int(clock()), note=f"gift {i}")
    first = me.get("/dashboard/wallet")
    assert first.html.select_one(".stat strong").text == "102.31 USD"
    rows = _cells(first)
    assert len(rows) == 20
    assert rows[0] == ["2026-09-21 14:13 UTC", "Top-up", "gift 21", "+0.21"]
    assert rows[-1][2] == "gift 2"
    last = _cells(me.get("/dashboard/wallet?page=2"))
    assert [r[2:] for r in last] == [["gift 1", "+0.01"], ["", "+100.00"]]
    for bad in ("0", "-1", "x", "99999999999"):
        assert _cells(me.get(f"/dashboard/wallet?page={bad}")) == rows
