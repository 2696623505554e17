"""Argon2id parameters and the dashboard's settings (names in every error message)."""

import pytest

from ypv import passwords
from ypv.config import Config, ConfigError
from ypv.mail import FileMailer, SmtpMailer, make_mailer


def test_passwords_use_argon2id_defaults():
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert passwords.verify_password(stored, "correct horse battery") is True
    assert passwords.verify_password(stored, "correct horse battery ") is False
    assert passwords.needs_rehash(stored) is False


@pytest.mark.parametrize("stored", [None, "", "not a hash", "$argon2id$v=19$m=65536,t=3,p=4$broken"])
def test_missing_or_broken_hashes_never_match(stored):
    assert passwords.verify_password(stored, "anything at all") is False


def test_weak_hashes_are_flagged_for_an_upgrade():
    from argon2 import PasswordHasher
    assert passwords.needs_rehash(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash("x" * 12))


@pytest.mark.parametrize("password,message", [("short", "Use at least 10 characters."),
                                              (" " * 12, "A password cannot be only spaces."),
                                              ("x" * 1025, "Use at most 1024 characters.")])
def test_new_password_rules(password, message):
    with pytest.raises(ValueError) as error:
        passwords.check_new_password(password)
    assert str(error.value) == message


def test_dashboard_defaults():
    config = Config.from_env({})
    assert (config.smtp_url, config.mail_from, config.mail_dir, config.signup, config.secure_cookies,
            config.public_url) == (None, "ypv <noreply@localhost>", "var/mail", "open", "auto", None)
    assert isinstance(make_mailer(config), FileMailer)


def test_dashboard_settings_from_the_environment():
    config = Config.from_env({"YPV_SMTP_URL": "smtps://u:p%40ss@mail.example.com", "YPV_MAIL_FROM": "Shop <a@b.c>",
                              "YPV_MAIL_DIR": "/tmp/m", "YPV_SIGNUP": "Invite", "YPV_SECURE_COOKIES": "on",
                              "YPV_PUBLIC_URL": "https://numbers.example.com/"})
    assert (config.mail_from, config.mail_dir, config.signup, config.secure_cookies, config.public_url) == \
        ("Shop <a@b.c>", "/tmp/m", "invite", "on", "https://numbers.example.com")
    assert "p%40ss" not in repr(config)
    mailer = make_mailer(config)
    assert isinstance(mailer, SmtpMailer) and (mailer.port, mailer.password) == (465, "p@ss")


@pytest.mark.parametrize("env,message", [
    ({"YPV_SMTP_URL": "http://mail.example.com"},
     "YPV_SMTP_URL must look like smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]"),
    ({"YPV_SMTP_URL": "smtp://u:secret@host/path"},
     "YPV_SMTP_URL must look like smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]"),
    ({"YPV_MAIL_FROM": "nobody"}, "YPV_MAIL_FROM='nobody' must contain an e-mail address"),
    ({"YPV_SIGNUP": "closed"}, "YPV_SIGNUP='closed' must be open or invite"),
    ({"YPV_SECURE_COOKIES": "maybe"}, "YPV_SECURE_COOKIES='maybe' must be auto, on or off"),
    ({"YPV_PUBLIC_URL": "numbers.example.com"},
     "YPV_PUBLIC_URL='numbers.example.com' must look like https://host[/path]"),
])
def test_dashboard_setting_errors_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        Config.from_env(env)
    assert str(error.value) == message
    assert "secret" not in str(error.value)
