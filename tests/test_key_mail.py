"""A real SMTP server (aiosmtpd on 127.0.0.1) receives the key; a failing one leaves no key behind."""

import smtplib

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.web import (SmtpServer, body_of, config, fast_hashing, key_in, outbox, people,  # noqa: F401
                       smtp_server)
from ypv import db, keys
from ypv.mail import MailError, SmtpMailer, compose
from ypv.models import ALL_MODELS, ApiKey
from ypv.testing import free_port

CUSTOMER = "customer@example.com"


@pytest.fixture
def boss(people, seed):
    people.add("boss@example.com", admin=True)
    return people.signed_in("boss@example.com")


def _use_smtp(app, url):
    app.dashboard.mailer = SmtpMailer(url, timeout=5)


def _approve(boss, request_id):
    return boss.get("/admin/requests").forms[f"approve-{request_id}"].submit(expect_errors=True)


def _every_stored_value() -> str:
    """Every value in every table, as one text: what a copy of the database would reveal."""
    with db.connection():
        return "\n".join(str(value) for model in ALL_MODELS for row in model.select().tuples() for value in row)


def test_the_key_arrives_by_smtp_works_and_only_its_hash_is_stored(app, boss, people, seed, smtp_server, api):
    _use_smtp(app, smtp_server.url)
    request_id = people.key_request(seed.account_id, "prod")
    assert _approve(boss, request_id).location == "/admin/requests?notice=approved"
    [(recipients, mail)] = smtp_server.messages
    assert (recipients, mail["To"], mail["Subject"]) == ([CUSTOMER], CUSTOMER, "Your ypv API key")
    key = key_in(mail)
    assert api("getBalance", key=key) == (200, "text/plain; charset=utf-8", "ACCESS_BALANCE:100.00")
    stored = _every_stored_value()
    assert key not in stored and key[4:] not in stored
    assert keys.hash_key(key) in stored
    with db.connection():
        assert ApiKey.get_by_id(request_id).key_hash == keys.hash_key(key)


@pytest.mark.parametrize("answer", ["554 5.7.1 Message rejected as spam", "451 4.3.0 Try again later"])
def test_a_refusing_smtp_server_leaves_no_key(app, boss, people, seed, smtp_server, answer):
    _use_smtp(app, smtp_server.url)
    smtp_server.answer = answer
    request_id = people.key_request(seed.account_id)
    before = _every_stored_value()
    page = _approve(boss, request_id)
    code, text = answer.split(" ", 1)
    assert (page.status_int, page.html.select_one(".error").text) == (502, (
        f"Nothing was approved: the e-mail with the key could not be sent (the SMTP server "
        f"127.0.0.1:{smtp_server.port} answered {code} {text})."))
    assert smtp_server.messages == []
    assert _every_stored_value() == before
    with db.connection():
        assert (ApiKey.get_by_id(request_id).status, ApiKey.select().where(ApiKey.status == "active").count()) == \
            ("pending", 1)  # only the seed's key


def test_an_unreachable_smtp_server_leaves_no_key(app, boss, people, seed):
    port = free_port()
    _use_smtp(app, f"smtp://127.0.0.1:{port}")
    request_id = people.key_request(seed.account_id)
    page = _approve(boss, request_id)
    assert page.status_int == 502
    assert page.html.select_one(".error").text == (
        f"Nothing was approved: the e-mail with the key could not be sent (could not deliver through the SMTP "
        f"server 127.0.0.1:{port}: [Errno 111] Connection refused).")
    with db.connection():
        assert ApiKey.get_by_id(request_id).key_hash is None


class _Authenticator:
    def __call__(self, server, session, envelope, mechanism, auth_data):
        return AuthResult(success=(auth_data.login, auth_data.password) == (b"ypv", b"s3cret/pass"))


@pytest.fixture
def auth_smtp():
    server = SmtpServer(port=free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port, authenticator=_Authenticator(),
                            auth_required=True, auth_require_tls=False, auth_exclude_mechanism=["LOGIN"])
    controller.start()
    yield server
    controller.stop()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_from_the_url(auth_smtp):
    message = compose("ypv <noreply@example.com>", "a@example.com", "hello", "body\n")
    SmtpMailer(f"smtp://ypv:s3cret%2Fpass@127.0.0.1:{auth_smtp.port}").send(message)
    assert [m["Subject"] for _, m in auth_smtp.messages] == ["hello"]
    with pytest.raises(MailError) as anonymous:
        SmtpMailer(f"smtp://127.0.0.1:{auth_smtp.port}").send(message)
    assert str(anonymous.value).startswith(f"the SMTP server 127.0.0.1:{auth_smtp.port} answered 530 ")


def test_tls_urls_refuse_a_server_without_tls(smtp_server):
    message = compose("ypv <noreply@example.com>", "a@example.com", "hello", "body\n")
    with pytest.raises(MailError) as starttls:
        SmtpMailer(f"smtp+starttls://127.0.0.1:{smtp_server.port}").send(message)
    assert str(starttls.value) == (f"could not deliver through the SMTP server 127.0.0.1:{smtp_server.port}: "
                                   "STARTTLS extension not supported by server.")
    with pytest.raises(MailError) as smtps:
        SmtpMailer(f"smtps://127.0.0.1:{smtp_server.port}").send(message)
    assert str(smtps.value).startswith(f"could not deliver through the SMTP server 127.0.0.1:{smtp_server.port}: ")
    assert smtp_server.messages == []


@pytest.mark.parametrize("url,where", [
    ("smtp://mail.example.com", ("smtp", "mail.example.com", 25, None, "")),
    ("smtp+starttls://u%40x:p%3Aw@mail.example.com", ("smtp+starttls", "mail.example.com", 587, "u@x", "p:w")),
    ("smtps://mail.example.com:2465", ("smtps", "mail.example.com", 2465, None, "")),
])
def test_smtp_urls(url, where):
    mailer = SmtpMailer(url)
    assert (mailer.scheme, mailer.host, mailer.port, mailer.username, mailer.password) == where
    assert "p:w" not in repr(mailer) and "p%3Aw" not in repr(mailer)


def test_keys_in_mail_stay_on_one_line():
    message = compose("ypv <noreply@example.com>", "a@example.com", "k", "    ypv_" + "a" * 64 + "\n")
    assert b"    ypv_" + b"a" * 64 + b"\n" in message.as_bytes()
    assert message["Content-Transfer-Encoding"] == "7bit"
    assert smtplib  # the transport under test
