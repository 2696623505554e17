"""The operator's pages (WebTest): key requests, accounts, catalog, rentals search, access control."""

import pytest

from tests.web import (add_numbers, body_of, config, fast_hashing, key_in, main_text, outbox, people,  # noqa: F401
                       words)
from ypv import db, keys, wallet
from ypv.models import Account, ApiKey, Ledger

CUSTOMER = "customer@example.com"
ADMIN_PAGES = ("/admin", "/admin/requests", "/admin/accounts", "/admin/accounts/1", "/admin/catalog",
               "/admin/rentals")
ADMIN_FORMS = ("/admin/requests/1/approve", "/admin/requests/1/deny", "/admin/accounts/1/credit",
               "/admin/accounts/1/status", "/admin/invites")


@pytest.fixture
def boss(people, seed):
    people.add("boss@example.com", admin=True)
    return people.signed_in("boss@example.com")


@pytest.fixture
def customer(people, seed):
    people.give_password(CUSTOMER)
    return people.signed_in(CUSTOMER)


def _cells(page, selector="main tbody tr"):
    return [[words(td) for td in row.select("td")] for row in page.html.select(selector)]


def _approve(boss, request_id, scopes=None, limit=None):
    form = boss.get("/admin/requests").forms[f"approve-{request_id}"]
    if scopes is not None:
        for scope in keys.SCOPES:
            form[f"scope_{scope}"] = scope in scopes
    if limit is not None:
        form["limit"] = str(limit)
    return form.submit(expect_errors=True)


def test_visitors_are_sent_to_log_in(people):
    for path in ADMIN_PAGES:
        assert people.browser().get(path).location == "/login?next=" + path
    for path in ADMIN_FORMS:
        assert people.browser().post(path, {}).location == "/login?next=" + path


def test_customers_never_reach_the_operator_area(customer, seed, api):
    token = customer.get("/dashboard").html.select_one('input[name="csrf"]')["value"]
    for path in ADMIN_PAGES:
        page = customer.get(path, expect_errors=True)
        assert (page.status_int, main_text(page)) == (403, "Operators only This page belongs to the operator's "
                                                           "area. Go to the start page")
    for path in ADMIN_FORMS:
        data = {"csrf": token, "amount": "1000", "kind": "topup", "note": "free money", "disabled": "1",
                "scope_balance": "1", "limit": "9999", "email": "x@example.com"}
        assert customer.post(path, data, expect_errors=True).status_int == 403
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"


def test_request_queue_empty_state(boss):
    page = boss.get("/admin")
    assert page.location == "/admin/requests"
    queue = boss.get("/admin/requests")
    assert words(queue.html.select_one("p.empty")) == ("No pending requests. New key requests from customers "
                                                       "appear here.")


def test_approve_with_adjusted_scopes_and_limit_mails_the_key_once(boss, people, seed, outbox, api):
    request_id = people.key_request(seed.account_id, "bot")
    queue = boss.get("/admin/requests")
    assert words(queue.html.select_one(f"#request-{request_id} p")) == (
        f"{CUSTOMER} asked on 2026-09-21 14:13 UTC for balance, prices, purchase, cancel .")
    done = _approve(boss, request_id, scopes=("balance", "prices"), limit=30)
    assert done.location == "/admin/requests?notice=approved"
    assert boss.get(done.location).html.select_one(".notice").text == (
        "Approved. The key was e-mailed to the customer; only its hash is kept.")
    mail = outbox.last()
    assert (mail["To"], mail["Subject"]) == (CUSTOMER, "Your ypv API key")
    key = key_in(mail)
    assert body_of(mail) == (
        'Your API key "bot" has been approved.\n\n'
        f"    {key}\n\n"
        "Scopes: balance, prices\nLimit: 30 requests per minute\n\n"
        "Store it safely - it is never shown again. We store only a SHA-256 hash of it,\n"
        "so nobody can send it to you a second time. If it is lost or leaked, revoke it\n"
        "from your dashboard (API page) and request a new one; revoked keys stop working\n"
        f"immediately.\n\nIn your dashboard it is listed as {key[:16]}…\n\n-- \nypv\n")
    assert api("getBalance", key=key)[2] == "ACCESS_BALANCE:100.00"
    assert api("getNumber", key=key, service="tg", country=0)[2] == "BAD_SCOPE"
    with db.connection():
        row = ApiKey.get_by_id(request_id)
    assert (row.status, row.prefix, row.key_hash, row.scopes, row.rate_limit) == \
        ("active", key[:16], keys.hash_key(key), "balance,prices", 30)
    assert key not in boss.get("/admin/requests").text
    assert key not in boss.get(f"/admin/accounts/{seed.account_id}").text
    assert _approve_again_is_gone(boss, request_id)


def _approve_again_is_gone(boss, request_id) -> bool:
    token = boss.get("/admin/requests").html.select_one('input[name="csrf"]')["value"]
    again = boss.post(f"/admin/requests/{request_id}/approve", {"csrf": token, "scope_balance": "1", "limit": "5"},
                      expect_errors=True)
    return (again.status_int, again.html.find("h1").text) == (404, "Request already decided")


def test_approve_form_errors(boss, people, seed, outbox):
    request_id = people.key_request(seed.account_id)
    for scopes, limit in (((), 600), (("balance",), 0), (("balance",), "lots")):
        page = _approve(boss, request_id, scopes=scopes, limit=limit)
        assert (page.status_int, page.html.select_one(".error").text) == (
            422, "Choose at least one scope and a limit of 1 or more requests per minute.")
    assert outbox.messages() == []


def test_when_the_mail_cannot_be_sent_nothing_is_approved(boss, people, seed, app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the mail folder should be")
    app.dashboard.mailer.folder = blocker / "mail"
    request_id = people.key_request(seed.account_id)
    page = _approve(boss, request_id)
    assert page.status_int == 502
    assert page.html.select_one(".error").text == (
        f"Nothing was approved: the e-mail with the key could not be sent (could not write the message into "
        f"{blocker / 'mail'}: Not a directory).")
    with db.connection():
        row = ApiKey.get_by_id(request_id)
    assert (row.status, row.prefix, row.key_hash, row.decided_at) == ("pending", None, None, None)
    assert page.html.select_one(f"#approve-{request_id}") is not None  # still in the queue


def test_deny_needs_a_reason_the_customer_then_sees(boss, people, seed, customer):
    request_id = people.key_request(seed.account_id, "scraper")
    form = boss.get("/admin/requests").forms[f"deny-{request_id}"]
    form["reason"] = "   "
    blank = form.submit(expect_errors=True)
    assert (blank.status_int, blank.html.select_one(".error").text) == (422, "Give a reason: the customer will see it.")
    form["reason"] = "We do not sell for scraping."
    assert form.submit().location == "/admin/requests?notice=denied"
    with db.connection():
        assert (ApiKey.get_by_id(request_id).status, ApiKey.get_by_id(request_id).note) == \
            ("denied", "We do not sell for scraping.")
    row = _cells(customer.get("/dashboard/api"), "#keys tbody tr")[0]
    assert row[4] == "Denied Reason: We do not sell for scraping."


def test_find_and_view_accounts(boss, seed, people):
    people.add("zed@example.org", balance=1234)
    page = boss.get("/admin/accounts")
    assert [r[:4] for r in _cells(page, "#accounts tbody tr")] == [
        ["zed@example.org", "Customer", "Active", "12.34 USD"],
        ["boss@example.com", "Operator", "Active", "0.00 USD"],
        [CUSTOMER, "Customer", "Active", "100.00 USD"]]
    found = boss.get("/admin/accounts?q=EXAMPLE.ORG")
    assert [r[0] for r in _cells(found, "#accounts tbody tr")] == ["zed@example.org"]
    assert words(boss.get("/admin/accounts?q=nobody").html.select_one("p.empty")) == "No account matches “nobody”."
    view = boss.get(f"/admin/accounts/{seed.account_id}")
    assert view.html.find("h1").text == CUSTOMER
    assert view.html.select_one("#balance").text == "100.00 USD"
    missing = boss.get("/admin/accounts/999", expect_errors=True)
    assert (missing.status_int, missing.html.find("h1").text) == (404, "No such account")


def _credit(boss, account_id, amount, kind="topup", note="bank transfer 42"):
    form = boss.get(f"/admin/accounts/{account_id}").forms["credit"]
    form["amount"], form["kind"], form["note"] = amount, kind, note
    return form.submit(expect_errors=True)


def test_top_up_and_adjust_write_the_ledger(boss, seed, api):
    done = _credit(boss, seed.account_id, "25.50")
    assert done.location == f"/admin/accounts/{seed.account_id}?notice=credited"
    assert _credit(boss, seed.account_id, "-5.25", "adjust", "goodwill reversal").status_int == 303
    assert api("getBalance")[2] == "ACCESS_BALANCE:120.25"
    with db.connection():
        rows = list(Ledger.select(Ledger.amount, Ledger.kind, Ledger.note).where(Ledger.account == seed.account_id)
                    .order_by(Ledger.id).tuples())
        assert wallet.ledger_mismatches() == []
    assert rows == [(10_000, "topup", None), (2550, "topup", "bank transfer 42"), (-525, "adjust", "goodwill reversal")]
    view = boss.get(f"/admin/accounts/{seed.account_id}")
    ledger_rows = [r for r in _cells(view) if len(r) == 4 and r[1] in ("Top-up", "Adjustment")]
    assert ledger_rows[:2] == [["2026-09-21 14:13 UTC", "Adjustment", "goodwill reversal", "-5.25"],
                               ["2026-09-21 14:13 UTC", "Top-up", "bank transfer 42", "+25.50"]]


@pytest.mark.parametrize("amount,kind,note,message", [
    ("abc", "topup", "n", "Enter an amount like 25.00 (or -5.50 for an adjustment)."),
    ("0", "adjust", "n", "The amount cannot be zero."),
    ("-1.00", "topup", "n", "A top-up must be above zero; use an adjustment to take money away."),
    ("5.00", "topup", "   ", "Write a note: it is kept in the ledger."),
    ("-100.01", "adjust", "too much", "The balance cannot go below zero."),
])
def test_credit_form_errors(boss, seed, api, amount, kind, note, message):
    page = _credit(boss, seed.account_id, amount, kind, note)
    assert (page.status_int, page.html.select_one(".error").text) == (422, message)
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"


def test_disable_stops_keys_and_sessions_then_enable(boss, seed, customer, api):
    assert customer.get("/dashboard").status_int == 200
    done = boss.get(f"/admin/accounts/{seed.account_id}").forms["status"].submit()
    assert boss.get(done.location).html.select_one(".notice").text == (
        "Account disabled: its keys stop working at once and its sessions are ended.")
    assert api("getBalance")[2] == "BAD_KEY"
    assert customer.get("/dashboard").location == "/login?next=/dashboard"
    boss.get(f"/admin/accounts/{seed.account_id}").forms["status"].submit()
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"


def test_operators_cannot_disable_themselves(boss):
    with db.connection():
        me = Account.get(Account.email == "boss@example.com").id
    page = boss.get(f"/admin/accounts/{me}").forms["status"].submit(expect_errors=True)
    assert (page.status_int, page.html.select_one(".error").text) == (422, "You cannot disable your own account.")


def test_catalog_at_a_glance(boss, api):
    api.body("getNumber", service="tg", country=0)
    page = boss.get("/admin/catalog")
    assert _cells(page, "#catalog tbody tr") == [
        ["Russia (0)", "Any other (ot)", "0.25 USD", "4"],
        ["Russia (0)", "Telegram (tg)", "1.50 USD", "4"],
        ["Russia (0)", "WhatsApp (wa)", "2.00 USD", "4"],
        ["USA (187)", "Telegram (tg)", "3.00 USD", "2"]]
    assert _cells(boss.get("/admin/catalog?service=tg"), "#catalog tbody tr") == [
        ["Russia (0)", "Telegram (tg)", "1.50 USD", "4"], ["USA (187)", "Telegram (tg)", "3.00 USD", "2"]]
    none = boss.get("/admin/catalog?country=1")
    assert words(none.html.select_one("p.empty")) == ("No prices for this choice. Import a catalog with ypv "
                                                      "catalog import FILE or set one with ypv price set .")


def test_rentals_search_by_phone_or_id(boss, api, clock):
    add_numbers(3, clock)
    for _ in range(3):
        api.body("getNumber", service="tg", country=0)
    latest = boss.get("/admin/rentals")
    assert [r[0] for r in _cells(latest)] == ["3", "2", "1"]
    assert _cells(latest)[0][2:] == [CUSTOMER, "Telegram", "+79000000003", "Waiting for SMS", "—", "1.50 USD"]
    by_phone = boss.get("/admin/rentals", {"q": "+7 (900) 000-00-02"})
    assert [r[0] for r in _cells(by_phone)] == ["2"]
    by_id = boss.get("/admin/rentals?q=3")
    assert [r[0] for r in _cells(by_id)] == ["3"]
    nothing = boss.get("/admin/rentals?q=nope")
    assert words(nothing.html.select_one("p.empty")) == "No rental matches “nope”."


def test_invite_form_errors(boss, seed):
    form = boss.get("/admin/accounts").forms["invite"]
    form["email"] = CUSTOMER
    taken = form.submit(expect_errors=True)
    assert (taken.status_int, taken.html.select_one(".error").text) == (422, f"{CUSTOMER} already has an account.")
