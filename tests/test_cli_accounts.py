"""``ypv account password|disable|enable|invite`` and ``ypv key requests|approve|deny`` through main([...])."""

import io

import pytest

from tests.web import (PASSWORD, body_of, config, fast_hashing, key_in, link_in, log_in, outbox,  # noqa: F401
                       people, smtp_server)
from ypv import cli, db
from ypv.models import Account, ApiKey

CUSTOMER = "customer@example.com"


@pytest.fixture
def ypv(monkeypatch, config, capsys):
    """Run the CLI against the test database; returns (exit status, stdout, stderr)."""
    monkeypatch.setenv("YPV_DATABASE_URL", config.database_url)
    monkeypatch.setenv("YPV_MAIL_DIR", config.mail_dir)
    monkeypatch.delenv("YPV_SMTP_URL", raising=False)

    def run(*args, stdin=""):
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        status = cli.main(list(args))
        out, err = capsys.readouterr()
        return status, out, err
    return run


def test_password_from_stdin_then_log_in(ypv, seed, people):
    assert ypv("account", "password", CUSTOMER, stdin=PASSWORD + "\n") == (0, f"password set for {CUSTOMER}\n", "")
    assert log_in(people.browser(), CUSTOMER).status_int == 303
    assert ypv("account", "password", CUSTOMER, stdin="short\n") == (1, "", "ypv: Use at least 10 characters.\n")
    assert ypv("account", "password", "nobody@example.com", stdin=PASSWORD) == \
        (1, "", "ypv: no account 'nobody@example.com'\n")


def test_disable_and_enable(ypv, seed, api):
    assert ypv("account", "disable", CUSTOMER) == \
        (0, f"account {CUSTOMER} disabled: its keys and sessions stop working\n", "")
    assert api("getBalance")[2] == "BAD_KEY"
    assert ypv("account", "enable", CUSTOMER) == (0, f"account {CUSTOMER} enabled\n", "")
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"


def test_requests_approve_mails_the_key_and_never_prints_it(ypv, seed, people, outbox, api):
    assert ypv("key", "requests") == (0, "", "no pending key requests\n")
    first = people.key_request(seed.account_id, "ci", "balance")
    second = people.key_request(seed.account_id, "", "prices,purchase")
    assert ypv("key", "requests") == (0, f"{first}\t{CUSTOMER}\tbalance\t600/min\tci\n"
                                         f"{second}\t{CUSTOMER}\tprices,purchase\t600/min\t\n", "")
    status, out, err = ypv("key", "approve", str(first), "--scopes", "balance,prices", "--limit", "5")
    key = key_in(outbox.last())
    assert (status, out, err) == (0, f"approved key {key[:16]} for {CUSTOMER}: scopes balance,prices, 5/min; "
                                     "e-mailed once\n", "")
    assert api("getBalance", key=key)[2] == "ACCESS_BALANCE:100.00"
    assert ypv("key", "approve", str(first)) == (1, "", f"ypv: no pending key request {first}\n")
    assert ypv("key", "deny", str(second), "--reason", "Too broad") == (0, f"denied key request {second}\n", "")
    with db.connection():
        assert (ApiKey.get_by_id(second).status, ApiKey.get_by_id(second).note) == ("denied", "Too broad")


def test_approve_through_smtp_and_a_failing_server(ypv, seed, people, smtp_server, monkeypatch, api):
    monkeypatch.setenv("YPV_SMTP_URL", smtp_server.url)
    request_id = people.key_request(seed.account_id)
    smtp_server.answer = "550 5.1.1 No such mailbox"
    assert ypv("key", "approve", str(request_id)) == (1, "", (
        f"ypv: nothing approved: the e-mail with the key could not be sent: the SMTP server "
        f"127.0.0.1:{smtp_server.port} answered 550 5.1.1 No such mailbox\n"))
    with db.connection():
        assert ApiKey.get_by_id(request_id).status == "pending"
    smtp_server.answer = "250 OK"
    assert ypv("key", "approve", str(request_id))[0] == 0
    [(_, mail)] = smtp_server.messages
    assert api("getBalance", key=key_in(mail))[2] == "ACCESS_BALANCE:100.00"


def test_invite(ypv, seed, outbox, people):
    assert ypv("account", "invite", "Guest@Example.com") == (0, "invitation sent to guest@example.com\n", "")
    mail = outbox.last()
    assert body_of(mail).startswith("You are invited to open a ypv account.")
    assert link_in(mail).startswith("/signup/confirm?token=")
    assert ypv("account", "invite", CUSTOMER) == (1, "", f"ypv: {CUSTOMER} already has an account\n")
    with db.connection():
        assert Account.get_or_none(Account.email == "guest@example.com") is None
