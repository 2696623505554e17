"""Code extraction, phone normalisation, money parsing and configuration errors."""

import pytest

from ypv.config import Config, ConfigError
from ypv.money import parse_amount, render
from ypv.codes import extract_code
from ypv.sms import normalize_phone


@pytest.mark.parametrize("text,code", [
    ("Your Telegram code: 51234", "51234"),
    ("WhatsApp code 123-456", "123456"),
    ("G-482913 is your Google verification code.", "482913"),
    ("Ваш код подтверждения: 8841. Никому не сообщайте его.", "8841"),
    ("您的验证码是 773311，5分钟内有效。", "773311"),
    ("رمز التحقق الخاص بك هو ٤٥٦٧٨٩", "456789"),
    ("Code 123 is too short, 12345678 is fine", "12345678"),
    ("123456789 is too long; use 4321", "4321"),
    ("no digits here", None),
    ("Your code is 12:34", None),
])
def test_extract_code(text, code):
    assert extract_code(text) == code


@pytest.mark.parametrize("raw,phone", [("+7 (999) 123-45-67", "79991234567"), ("0079991234567", "79991234567"),
                                       ("79991234567", "79991234567"), ("+00 12", "0012")])
def test_normalize_phone(raw, phone):
    assert normalize_phone(raw) == phone


@pytest.mark.parametrize("text,minor", [("25.50", 2550), ("0.01", 1), ("7", 700), ("1250.5", 125050)])
def test_money_round_trip(text, minor):
    assert parse_amount(text) == minor
    assert render(minor) == f"{minor // 100}.{minor % 100:02d}"


@pytest.mark.parametrize("text", ["", "abc", "-1", "1.234", "1,50", "1e3", " . "])
def test_bad_amounts(text):
    with pytest.raises(ValueError):
        parse_amount(text)


def test_defaults():
    config = Config.from_env({})
    assert (config.database_url, config.early_cancel_seconds, config.rental_ttl_seconds, config.default_country,
            config.currency, config.currency_code, config.demo_sms_delay_seconds) == \
        ("sqlite:///ypv.sqlite3", 120, 1200, 0, "USD", 840, None)


@pytest.mark.parametrize("env,message", [
    ({"YPV_EARLY_CANCEL_SECONDS": "abc"}, "YPV_EARLY_CANCEL_SECONDS='abc' is not a whole number"),
    ({"YPV_RENTAL_TTL_SECONDS": "0"}, "YPV_RENTAL_TTL_SECONDS='0' must be at least 1"),
    ({"YPV_CURRENCY": "XYZ"}, "YPV_CURRENCY='XYZ' is not supported"),
    ({"YPV_DATABASE_URL": "mysql://x/y"}, "YPV_DATABASE_URL='mysql://x/y' must start with sqlite:// or postgresql://"),
    ({"YPV_EARLY_CANCEL_SECONDS": "600", "YPV_RENTAL_TTL_SECONDS": "300"},
     "YPV_EARLY_CANCEL_SECONDS must be shorter than YPV_RENTAL_TTL_SECONDS"),
    ({"YPV_DEMO_SMS_DELAY_SECONDS": "soon"}, "YPV_DEMO_SMS_DELAY_SECONDS='soon' is not a whole number"),
    ({"YPV_BIND": "localhost"}, "YPV_BIND='localhost' must look like HOST:PORT or unix:PATH"),
])
def test_config_errors_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        Config.from_env(env)
    assert str(error.value).startswith(message)


def test_demo_sms_delay_and_currency():
    config = Config.from_env({"YPV_DEMO_SMS_DELAY_SECONDS": "5", "YPV_CURRENCY": "rub"})
    assert (config.demo_sms_delay_seconds, config.currency, config.currency_code) == (5, "RUB", 643)
    assert Config.from_env({"YPV_DEMO_SMS_DELAY_SECONDS": "off"}).demo_sms_delay_seconds is None
