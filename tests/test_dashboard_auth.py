"""Sign-up, log in/out, password change and reset, sessions, CSRF and throttling (WebTest)."""

import hashlib

import pytest

from tests.web import (PASSWORD, body_of, config, csrf_of, fast_hashing, link_in, log_in, main_text,  # noqa: F401
                       outbox, people)
from ypv import db
from ypv.dashboard import csrf
from ypv.models import Account, WebSession

WRONG = "Wrong e-mail or password."
EXPIRED_FORM = ("This form has expired For your safety the form could not be accepted. Go back, reload the page "
                "and submit it again. Go to the start page")


def _sign_up(browser, address):
    form = browser.get("/signup").forms["signup"]
    form["email"] = address
    return form.submit(expect_errors=True)


def _choose_password(browser, path, password=PASSWORD, again=None):
    page = browser.get(path, expect_errors=True)
    if page.status_int != 200:
        return page
    form = page.forms["choose-password"]
    form["password"] = password
    form["password2"] = again if again is not None else password
    return form.submit(expect_errors=True)


def test_start_page_for_visitors_and_redirect_when_signed_in(people):
    visitor = people.browser()
    page = visitor.get("/")
    assert page.html.find("h1").text == "Phone numbers for SMS verification, on your own terms."
    assert [a["href"] for a in page.html.select("main a.button")] == ["/signup", "/login"]
    people.add("ann@example.com")
    assert people.signed_in("ann@example.com").get("/").location == "/dashboard"


def test_sign_up_by_link_creates_the_account_and_signs_in(people, outbox, clock):
    browser = people.browser()
    page = _sign_up(browser, "  New.Person@Example.com ")
    assert page.status_int == 200
    assert main_text(page) == ("Check your inbox We sent a message to new.person@example.com. Open the link in it "
                               "to choose your password and finish creating your account. The link works once, "
                               "for 24 hours. Nothing after a few minutes? Look in your spam folder, then try again.")
    mail = outbox.last()
    assert (mail["To"], mail["Subject"], mail["From"]) == \
        ("new.person@example.com", "Confirm your ypv account", "ypv <noreply@localhost>")
    link = link_in(mail)
    assert link.startswith("/signup/confirm?token=")
    with db.connection():
        assert Account.select().count() == 0  # nothing exists until the link is used
    done = _choose_password(browser, link)
    assert (done.status_int, done.location) == (303, "/dashboard?notice=welcome")
    assert "Welcome! Your account is ready." in browser.get(done.location).text
    with db.connection():
        account = Account.get(Account.email == "new.person@example.com")
    assert account.password_hash.startswith("$argon2id$")
    assert _choose_password(people.browser(), link).status_int == 410  # a link works once


def test_sign_up_for_a_taken_address_answers_the_same_page(people, outbox):
    people.add("taken@example.com")
    fresh = main_text(_sign_up(people.browser(), "fresh@example.com"))
    taken = main_text(_sign_up(people.browser(), "taken@example.com"))
    assert taken == fresh.replace("fresh@", "taken@")
    mail = outbox.last()
    assert (mail["To"], mail["Subject"]) == ("taken@example.com", "You already have a ypv account")
    assert "/password/reset?token=" in body_of(mail)


def test_sign_up_form_errors(people, outbox):
    browser = people.browser()
    bad = _sign_up(browser, "not-an-address")
    assert (bad.status_int, bad.html.select_one(".error").text) == \
        (422, "Enter an e-mail address like name@example.com.")
    _sign_up(browser, "short@example.com")
    link = link_in(outbox.last())
    short = _choose_password(browser, link, "short")
    assert (short.status_int, short.html.select_one(".error").text) == (422, "Use at least 10 characters.")
    differ = _choose_password(browser, link, PASSWORD, PASSWORD + "!")
    assert (differ.status_int, differ.html.select_one(".error").text) == (422, "The two passwords are not the same.")
    assert _choose_password(browser, link).status_int == 303


def test_sign_up_links_expire(people, outbox, clock):
    _sign_up(people.browser(), "late@example.com")
    clock.advance(24 * 3600)
    page = people.browser().get(link_in(outbox.last()), expect_errors=True)
    assert (page.status_int, main_text(page)) == (410, "This link cannot be used It has expired or was already "
                                                       "used. Links in our e-mails work once; ask for a new one. "
                                                       "Go to the start page")


def test_invite_only_sign_up(people, outbox, app):
    app.dashboard.config = app.dashboard.config.with_(signup="invite")
    visitor = people.browser()
    page = visitor.get("/signup")
    assert main_text(page) == ("Create an account Accounts are opened by invitation. Ask the operator of this "
                               "service to invite you. Already have an account? Log in")
    token = csrf_of(visitor.get("/login"))
    refused = visitor.post("/signup", {"email": "x@example.com", "csrf": token}, expect_errors=True)
    assert (refused.status_int, refused.html.find("h1").text) == (403, "Sign-up is by invitation")
    assert "/signup" not in [a["href"] for a in visitor.get("/").html.select("a")]
    people.add("boss@example.com", admin=True)
    boss = people.signed_in("boss@example.com")
    form = boss.get("/admin/accounts").forms["invite"]
    form["email"] = "guest@example.com"
    assert form.submit().location == "/admin/accounts?notice=invited"
    mail = outbox.last()
    assert (mail["To"], mail["Subject"]) == ("guest@example.com", "Your invitation to ypv")
    guest = people.browser()
    assert _choose_password(guest, link_in(mail)).location == "/dashboard?notice=welcome"


def test_wrong_password_and_unknown_address_read_the_same(people):
    people.add("ann@example.com")
    browser = people.browser()
    wrong = log_in(browser, "ann@example.com", "not the password")
    unknown = log_in(browser, "nobody@example.com", "not the password")
    assert (wrong.status_int, unknown.status_int) == (401, 401)
    assert main_text(wrong).replace("ann@", "X@") == main_text(unknown).replace("nobody@", "X@")
    assert wrong.html.select_one(".error").text == WRONG
    assert browser.get("/dashboard").status_int == 303


def test_login_sets_a_hashed_session_with_safe_cookie_flags(people):
    people.add("ann@example.com")
    browser = people.browser()
    done = log_in(browser, "ann@example.com")
    assert (done.status_int, done.location) == (303, "/dashboard")
    cookie = next(h for h in done.headers.getall("Set-Cookie") if h.startswith("ypv_session="))
    token = cookie.split(";")[0].split("=", 1)[1]
    assert sorted(p.strip() for p in cookie.split(";")[1:]) == \
        ["HttpOnly", "Max-Age=1209600", "Path=/", "SameSite=Lax"]
    with db.connection():
        stored = [row.token_hash for row in WebSession.select()]
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert browser.get("/dashboard").status_int == 200


@pytest.mark.parametrize("environ,setting,secure", [
    ({"HTTP_X_FORWARDED_PROTO": "https"}, "auto", True),
    ({"wsgi.url_scheme": "https"}, "auto", True),
    ({}, "auto", False),
    ({}, "on", True),
    ({"HTTP_X_FORWARDED_PROTO": "https"}, "off", False),
])
def test_secure_cookie_flag(people, app, environ, setting, secure):
    app.dashboard.config = app.dashboard.config.with_(secure_cookies=setting)
    people.add("ann@example.com")
    browser = people.browser(**environ)
    browser.set_cookie("ypv_csrf", "pre-session secret")  # WebTest's jar keeps Secure cookies from http URLs
    response = browser.post("/login", {"email": "ann@example.com", "password": PASSWORD,
                                       "csrf": csrf.token_for("pre-session secret")})
    cookie = next(h for h in response.headers.getall("Set-Cookie") if h.startswith("ypv_session="))
    assert ("Secure" in cookie.split("; ")) is secure


def test_logout_ends_the_session_for_good(people):
    people.add("ann@example.com")
    browser = people.browser()
    cookie = log_in(browser, "ann@example.com").headers["Set-Cookie"]
    page = browser.get("/dashboard")
    out = browser.post("/logout", {"csrf": csrf_of(page)})
    assert out.location == "/login?notice=logged-out"
    assert "You are logged out." in browser.get(out.location).text
    replay = people.browser()
    replay.set_cookie("ypv_session", cookie.split(";")[0].split("=", 1)[1])
    assert replay.get("/dashboard").location == "/login?next=/dashboard"
    with db.connection():
        assert WebSession.select().count() == 0


def test_forms_without_a_valid_csrf_token_are_refused(people):
    people.add("ann@example.com")
    people.add("bob@example.com")
    visitor = people.browser()
    visitor.get("/login")
    for token in (None, "", "0" * 64):
        data = {"email": "ann@example.com", "password": PASSWORD}
        if token is not None:
            data["csrf"] = token
        refused = visitor.post("/login", data, expect_errors=True)
        assert (refused.status_int, main_text(refused)) == (403, EXPIRED_FORM)
    ann = people.signed_in("ann@example.com")
    bob = people.signed_in("bob@example.com")
    bobs_token = csrf_of(bob.get("/dashboard/api"))
    forged = ann.post("/dashboard/api", {"csrf": bobs_token, "label": "x", "scope_balance": "1"},
                      expect_errors=True)
    assert (forged.status_int, main_text(forged)) == (403, EXPIRED_FORM)
    assert ann.post("/logout", {}, expect_errors=True).status_int == 403
    assert ann.get("/dashboard").status_int == 200  # still signed in
    assert "Pending approval" not in ann.get("/dashboard/api").text


def test_failed_logins_are_throttled_per_account(people, clock):
    people.add("ann@example.com")
    browser = people.browser()
    for _ in range(5):
        assert log_in(browser, "ann@example.com", "guess guess guess").status_int == 401
    for address in ("ann@example.com", "ANN@example.com"):
        blocked = log_in(browser, address, PASSWORD)  # even the right password waits
        assert (blocked.status_int, blocked.html.select_one(".error").text) == \
            (429, "Too many attempts. Try again in 15 minutes.")
    assert log_in(people.browser(REMOTE_ADDR="198.51.100.7"), "ann@example.com").status_int == 429
    clock.advance(14 * 60)
    assert log_in(browser, "ann@example.com").html.select_one(".error").text == \
        "Too many attempts. Try again in 1 minute."
    clock.advance(60)
    assert log_in(browser, "ann@example.com").status_int == 303


def test_unknown_accounts_are_throttled_the_same_way(people):
    browser = people.browser()
    answers = [log_in(browser, "ghost@example.com", "guess guess guess").status_int for _ in range(6)]
    assert answers == [401] * 5 + [429]


def test_failed_logins_are_throttled_per_address(people):
    people.add("ann@example.com")
    attacker = people.browser(REMOTE_ADDR="203.0.113.9")
    answers = [log_in(attacker, f"user{i}@example.com", "guess guess guess").status_int for i in range(31)]
    assert answers == [401] * 30 + [429]
    assert log_in(attacker, "ann@example.com").status_int == 429
    assert log_in(people.browser(REMOTE_ADDR="203.0.113.10"), "ann@example.com").status_int == 303


def test_behind_a_local_proxy_the_address_is_the_one_it_forwarded(people):
    for i in range(30):
        proxied = people.browser(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}, 203.0.113.9")
        log_in(proxied, f"user{i}@example.com", "guess guess guess")
    people.add("ann@example.com")
    same = people.browser(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    other = people.browser(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert (log_in(same, "ann@example.com").status_int, log_in(other, "ann@example.com").status_int) == (429, 303)


def test_next_only_leads_to_this_site(people):
    people.add("ann@example.com")
    browser = people.browser()
    assert browser.get("/dashboard/wallet?page=2").location == "/login?next=/dashboard/wallet%3Fpage%3D2"
    form = browser.get("/login?next=/dashboard/wallet?page=2").forms["login"]
    form["email"], form["password"] = "ann@example.com", PASSWORD
    assert form.submit().location == "/dashboard/wallet?page=2"
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other = people.browser()
        form = other.get("/login").forms["login"]
        form["email"], form["password"], form["next"] = "ann@example.com", PASSWORD, target
        assert form.submit().location == "/dashboard"


def test_disabled_accounts_cannot_log_in(people):
    ann = people.add("ann@example.com")
    with db.connection():
        Account.update(disabled=True).where(Account.id == ann).execute()
    assert log_in(people.browser(), "ann@example.com").html.select_one(".error").text == WRONG


def test_change_password(people):
    people.add("ann@example.com")
    here = people.signed_in("ann@example.com")
    elsewhere = people.signed_in("ann@example.com")

    def change(current, new, again=None):
        form = here.get("/password").forms["change-password"]
        form["current"], form["password"], form["password2"] = current, new, again or new
        return form.submit(expect_errors=True)

    wrong = change("not it at all", "a brand new passphrase")
    assert (wrong.status_int, wrong.html.select_one(".error").text) == (401, "Your current password is not right.")
    weak = change(PASSWORD, "tiny")
    assert (weak.status_int, weak.html.select_one(".error").text) == (422, "Use at least 10 characters.")
    done = change(PASSWORD, "a brand new passphrase")
    assert done.location == "/dashboard?notice=password-changed"
    assert "Password changed. Your other sessions were logged out." in here.get(done.location).text
    assert elsewhere.get("/dashboard").status_int == 303
    assert log_in(people.browser(), "ann@example.com").status_int == 401
    assert log_in(people.browser(), "ann@example.com", "a brand new passphrase").status_int == 303


def test_forgot_password_reads_the_same_for_unknown_addresses(people, outbox):
    people.add("ann@example.com")
    old_session = people.signed_in("ann@example.com")

    def forgot(address):
        form = people.browser().get("/password/forgot").forms["forgot"]
        form["email"] = address
        return form.submit()

    unknown = forgot("nobody@example.com")
    assert outbox.messages() == []
    known = forgot("ann@example.com")
    assert main_text(known) == main_text(unknown).replace("nobody@", "ann@")
    assert main_text(known) == ("Check your inbox If ann@example.com belongs to an account, we sent it a link to "
                                "choose a new password. The link works once, for an hour. Nothing after a few "
                                "minutes? Look in your spam folder, then try again.")
    mail = outbox.last()
    assert (mail["To"], mail["Subject"]) == ("ann@example.com", "Reset your ypv password")
    browser = people.browser()
    done = _choose_password(browser, link_in(mail), "my reset passphrase")
    assert done.location == "/dashboard?notice=password-reset"
    assert old_session.get("/dashboard").status_int == 303
    assert log_in(people.browser(), "ann@example.com", "my reset passphrase").status_int == 303
    assert _choose_password(people.browser(), link_in(mail), "another passphrase").status_int == 410


def test_sign_up_mails_are_throttled(people, outbox):
    browser = people.browser()
    answers = [_sign_up(browser, "spam@example.com").status_int for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert len(outbox.messages()) == 3


def test_security_headers_on_every_page(people):
    page = people.browser().get("/login")
    assert page.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'none'")
    assert (page.headers["Referrer-Policy"], page.headers["X-Content-Type-Options"],
            page.headers["Cache-Control"]) == ("no-referrer", "nosniff", "no-store")


def test_every_form_field_has_a_label(people):
    people.add("ann@example.com")
    people.add("boss@example.com", admin=True)
    pages = [(people.browser(), p) for p in ("/login", "/signup", "/password/forgot")]
    ann = people.signed_in("ann@example.com")
    boss = people.signed_in("boss@example.com")
    pages += [(ann, p) for p in ("/dashboard/api", "/password")]
    pages += [(boss, p) for p in ("/admin/accounts", "/admin/catalog", "/admin/rentals")]
    for browser, path in pages:
        html = browser.get(path).html
        for control in html.select("main input:not([type=hidden]), main select"):
            labelled = control.find_parent("label") or html.select_one(f'label[for="{control["id"]}"]')
            assert labelled, (path, control)
