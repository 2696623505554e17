"""Helpers for the dashboard tests: people, signed-in browsers, the outbox, a real SMTP server.

Test modules import the fixtures they use from here (``from tests.web import …``).
"""

import email
import email.policy
import re
from dataclasses import dataclass, field

import pytest
import webtest
from aiosmtpd.controller import Controller
from argon2 import PasswordHasher

from ypv import accounts, db, keys, passwords, wallet
from ypv.demo import add_numbers as _add_numbers
from ypv.testing import free_port

PASSWORD = "correct horse battery"
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def fast_hashing(monkeypatch):
    """Argon2id with tiny costs: the suite signs in hundreds of times. Production
    parameters are checked once in test_passwords_use_argon2id_defaults."""
    quick = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", lambda: quick)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", None)


@pytest.fixture
def config(config, tmp_path, fast_hashing):
    """The suite's config, with mail written as .eml files into tmp_path/mail."""
    return config.with_(mail_dir=str(tmp_path / "mail"))


@pytest.fixture
def outbox(tmp_path):
    return Outbox(tmp_path / "mail")


@pytest.fixture
def people(app, clock):
    return People(app, clock)


class Outbox:
    """The FileMailer's folder, read back as parsed messages in the order they were sent."""

    def __init__(self, folder):
        self.folder = folder

    def messages(self) -> list:
        if not self.folder.exists():
            return []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(self.folder.glob("*.eml"))]

    def last(self):
        found = self.messages()
        assert found, "no mail was sent"
        return found[-1]


def body_of(message) -> str:
    return message.get_body().get_content()


def link_in(message) -> str:
    """The first link in a mail, as a path WebTest can open."""
    url = LINK.search(body_of(message)).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def key_in(message) -> str:
    return re.search(r"ypv_[0-9a-f]{64}", body_of(message)).group(0)


def add_numbers(count: int, clock, start: int = 79700000000) -> None:
    """More Russian numbers for tests that rent many (the seed has five)."""
    with db.connection():
        _add_numbers([{"phone": str(start + i), "country": 0, "operator": "mts"} for i in range(count)],
                     int(clock()))


class People:
    """Accounts with passwords, and a separate browser (cookie jar) for each."""

    def __init__(self, app, clock):
        self.app = app
        self.clock = clock

    def add(self, email: str, admin: bool = False, balance: int = 0, password: str = PASSWORD) -> int:
        with db.connection(), db.write_transaction():
            account = accounts.create_account(email, int(self.clock()), is_admin=admin)
            accounts.set_password(account.id, password)
            if balance:
                wallet.credit(account.id, balance, "topup", int(self.clock()), note="test money")
        return account.id

    def give_password(self, email: str, password: str = PASSWORD) -> None:
        with db.connection(), db.write_transaction():
            accounts.set_password(accounts.find_account(email).id, password)

    def browser(self, **environ) -> webtest.TestApp:
        return webtest.TestApp(self.app, extra_environ=environ)

    def signed_in(self, email: str, password: str = PASSWORD, **environ) -> webtest.TestApp:
        browser = self.browser(**environ)
        response = log_in(browser, email, password)
        assert response.status_int == 303, response.text
        return browser

    def key_request(self, account_id: int, label: str = "", scopes: str = "balance,prices,purchase,cancel") -> int:
        with db.connection(), db.write_transaction():
            return keys.request_key(account_id, label, scopes, 600, int(self.clock())).id


def log_in(browser: webtest.TestApp, email: str, password: str = PASSWORD, **extra):
    form = browser.get("/login").forms["login"]
    form["email"] = email
    form["password"] = password
    return form.submit(expect_errors=True, **extra)


def main_text(response) -> str:
    """The visible text of <main>, whitespace collapsed: what a person reads on the page."""
    html = response.text
    inner = html[html.index("<main>") + 6:html.index("</main>")]
    inner = re.sub(r"</?(strong|a|code|span|em|small)\b[^>]*>", "", inner)  # inline: no space
    text = re.sub(r"<[^>]+>", " ", inner)
    for entity, char in (("&#34;", '"'), ("&#39;", "'"), ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):
        text = text.replace(entity, char)
    return " ".join(text.split())


def words(element) -> str:
    """An element's text as a person reads it: whitespace collapsed."""
    return " ".join(element.get_text(" ").split())


def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]{64})"', response.text).group(1)


# --- a real SMTP server on 127.0.0.1 (aiosmtpd) -------------------------------------------

@dataclass
class SmtpServer:
    port: int
    messages: list = field(default_factory=list)
    answer: str = "250 Message accepted for delivery"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        if self.answer.startswith("250"):
            self.messages.append((envelope.rcpt_tos,
                                  email.message_from_bytes(envelope.content, policy=email.policy.default)))
        return self.answer


@pytest.fixture
def smtp_server():
    """A real SMTP server; set ``.answer`` to make it refuse messages."""
    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()
