"""A real browser (Debian's chromium, driven by Playwright) walks the whole key lifecycle.

sign-up → e-mailed link → password → request a key → an operator approves it →
the key from the e-mail works over HTTP → the customer revokes it → BAD_KEY.
A screenshot of every page goes to test-output/screenshots/. Never skipped: CI
installs chromium (.ci/run), and a missing browser is a failure, not a skip.
"""

import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import live_server
from tests.web import PASSWORD, body_of, key_in, smtp_server  # noqa: F401

SCREENSHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
CUSTOMER, OPERATOR = "buyer@example.com", "ops@example.com"


@pytest.fixture
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Shots:
    def __init__(self):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()
        self.count = 0

    def __call__(self, page, name: str) -> None:
        self.count += 1
        page.screenshot(path=str(SCREENSHOTS / f"{self.count:02d}-{name}.png"), full_page=True)


def _wait_for_mail(smtp, count: int):
    deadline = time.monotonic() + 15
    while len(smtp.messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(smtp.messages) == count, [m["Subject"] for _, m in smtp.messages]
    return smtp.messages[-1][1]


def _balance(server, key) -> str:
    with urllib.request.urlopen(f"{server.handler_url}?api_key={key}&action=getBalance", timeout=10) as answer:
        return answer.read().decode()


def test_sign_up_request_approve_use_and_revoke_a_key(tmp_path, request, browser, smtp_server):
    server = live_server(tmp_path, request, env={"YPV_SMTP_URL": smtp_server.url})
    server.cli("account", "add", OPERATOR, "--admin")
    server.cli("account", "password", OPERATOR, stdin=PASSWORD + "\n")
    shot = Shots()
    customer = browser.new_context(viewport={"width": 390, "height": 844}).new_page()  # a phone

    customer.goto(server.base_url + "/")
    shot(customer, "start")
    customer.get_by_role("link", name="Create an account").click()
    customer.get_by_label("E-mail").fill(CUSTOMER)
    shot(customer, "signup")
    customer.get_by_role("button", name="Send me the link").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    shot(customer, "check-inbox")

    link = re.search(r"http://\S+", body_of(_wait_for_mail(smtp_server, 1))).group(0)
    assert link.startswith(server.base_url + "/signup/confirm?token=")
    customer.goto(link)
    customer.get_by_label("New password", exact=True).fill(PASSWORD)
    customer.get_by_label("New password again").fill(PASSWORD)
    shot(customer, "choose-password")
    customer.get_by_role("button", name="Create my account").click()
    expect(customer.get_by_role("status")).to_have_text("Welcome! Your account is ready.")
    expect(customer.locator("#balance")).to_have_text("0.00 USD")
    shot(customer, "overview")

    customer.get_by_role("link", name="API", exact=True).click()
    customer.get_by_label("Label").fill("browser test")
    customer.get_by_label("cancel").uncheck()
    customer.get_by_role("button", name="Request key").click()
    expect(customer.locator("#keys tbody tr").first).to_contain_text("Pending approval")
    expect(customer.locator("#keys tbody tr").first).to_contain_text("balance, prices, purchase")
    shot(customer, "key-pending")

    operator = browser.new_context().new_page()
    operator.goto(server.base_url + "/login")
    operator.get_by_label("E-mail").fill(OPERATOR)
    operator.get_by_label("Password").fill(PASSWORD)
    shot(operator, "login")
    operator.get_by_role("button", name="Log in").click()
    expect(operator.get_by_role("heading", level=1)).to_have_text("Key requests")
    request_card = operator.locator("section.request", has_text=CUSTOMER)
    request_card.get_by_label("Limit (requests per minute)").fill("120")
    shot(operator, "admin-requests")
    request_card.get_by_role("button", name="Approve and e-mail key").click()
    expect(operator.get_by_role("status")).to_have_text(
        "Approved. The key was e-mailed to the customer; only its hash is kept.")
    shot(operator, "admin-approved")

    mail = _wait_for_mail(smtp_server, 2)
    assert (mail["To"], mail["Subject"]) == (CUSTOMER, "Your ypv API key")
    key = key_in(mail)
    assert _balance(server, key) == "ACCESS_BALANCE:0.00"

    for name, path in (("admin-accounts", "/admin/accounts"), ("admin-catalog", "/admin/catalog?service=tg"),
                       ("admin-rentals", "/admin/rentals")):
        operator.goto(server.base_url + path)
        shot(operator, name)
    operator.get_by_role("link", name="Accounts").click()
    operator.get_by_role("link", name=CUSTOMER).click()
    expect(operator.get_by_role("heading", level=1)).to_have_text(CUSTOMER)
    shot(operator, "admin-account")

    customer.reload()
    row = customer.locator("#keys tbody tr").first
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text(key[:16] + "…")
    expect(row).to_contain_text("120/min")
    assert key not in customer.content()
    shot(customer, "key-active")
    row.get_by_role("link", name="Revoke").click()
    expect(customer.get_by_role("heading", level=1)).to_have_text(f"Revoke key {key[:16]}…?")
    shot(customer, "revoke-confirm")
    customer.get_by_role("button", name="Revoke key").click()
    expect(customer.get_by_role("status")).to_have_text("Key revoked. Requests with it now get BAD_KEY.")
    expect(customer.locator("#keys tbody tr").first).to_contain_text("Revoked")
    shot(customer, "key-revoked")
    assert _balance(server, key) == "BAD_KEY"

    for name, path in (("rentals", "/dashboard/rentals"), ("wallet", "/dashboard/wallet"), ("password", "/password")):
        customer.goto(server.base_url + path)
        shot(customer, name)
    customer.get_by_role("button", name="Log out").click()
    expect(customer.get_by_role("status")).to_have_text("You are logged out.")
    shot(customer, "logged-out")
    assert sorted(p.name for p in SCREENSHOTS.glob("*.png"))[0] == "01-start.png"
    assert len(list(SCREENSHOTS.glob("*.png"))) == shot.count == 20
