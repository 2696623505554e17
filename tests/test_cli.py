"""The ``ypv`` operator command, through ``ypv.cli.main([...])``: exact stdout, stderr and exit codes.

Each test gets a fresh database (SQLite, or PostgreSQL when YPV_TEST_POSTGRES_URL is set)
named by YPV_DATABASE_URL, and starts with ``ypv db init``.
"""

import json
import os
import re
from importlib import resources

import pytest

from ypv import db, keys
from ypv.cli import main
from ypv.errors import BadKey
from ypv.models import Account, ApiKey, Country, Ledger, Number, Price, Rental, Service, Sms

KEY_LINE = re.compile(r"^ypv_[0-9a-f]{64}$")
ALL_SCOPES = "balance,prices,purchase,cancel"

CATALOG = {
    "countries": [
        {"id": 0, "eng": "Russia", "rus": "Россия", "chn": "俄罗斯", "phone_code": 7, "nsn_length": 10},
        {"id": 187, "eng": "USA", "phone_code": 1},
    ],
    "services": [{"code": "tg", "name": "Telegram"}, {"code": "wa", "name": "WhatsApp"}],
    "prices": [{"service": "tg", "country": 0, "cost": "1.50"}, {"service": "wa", "country": 0, "cost": "2"},
               {"service": "tg", "country": 187, "cost": "3.25"}],
}


def shown_url(url: str) -> str:
    """What `db init` prints: the URL without the credentials part."""
    return url if url.startswith("sqlite") else url.split("@", 1)[1]


@pytest.fixture
def ypv(monkeypatch, database_url, capsys, clock):
    """run(*args) -> (exit code, stdout, stderr) of `ypv ARGS` on a fresh, initialised database."""
    for name in [n for n in os.environ if n.startswith("YPV_") and n != "YPV_TEST_POSTGRES_URL"]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("YPV_DATABASE_URL", database_url)

    def run(*args: str) -> tuple[int, str, str]:
        code = main(list(args), clock=clock)
        out, err = capsys.readouterr()
        return code, out, err

    assert run("db", "init") == (0, f"database ready: {shown_url(database_url)}\n", "")
    return run


def issue(ypv, *args: str) -> str:
    code, out, err = ypv("key", "issue", *args)
    assert code == 0, err
    assert KEY_LINE.match(out.rstrip("\n")) and out.count("\n") == 1, out
    return out.strip()


def write_catalog(ypv, tmp_path, data=CATALOG) -> None:
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    assert ypv("catalog", "import", str(path))[0] == 0


def rows(query) -> list:
    with db.connection():
        return list(query.tuples())


# --- db init, accounts, wallet -----------------------------------------------------------------

def test_db_init_twice_is_harmless(ypv, database_url):
    assert ypv("account", "add", "alice@example.com")[0] == 0
    assert ypv("db", "init") == (0, f"database ready: {shown_url(database_url)}\n", "")
    assert rows(Account.select(Account.email)) == [("alice@example.com",)]
    assert "postgres@" not in shown_url(database_url)


def test_account_add(ypv):
    assert ypv("account", "add", "alice@example.com") == (0, "account alice@example.com created (id 1)\n", "")
    assert ypv("account", "add", " Root@Example.COM ", "--admin") == \
        (0, "account root@example.com created (id 2, admin)\n", "")
    assert ypv("account", "add", "ALICE@example.com") == \
        (1, "", "ypv: an account for alice@example.com already exists\n")
    assert ypv("account", "add", "not-an-email") == (1, "", "ypv: 'not-an-email' is not an e-mail address\n")
    assert rows(Account.select(Account.email, Account.is_admin, Account.balance).order_by(Account.email)) == \
        [("alice@example.com", False, 0), ("root@example.com", True, 0)]


def test_wallet_topup(ypv):
    ypv("account", "add", "alice@example.com")
    assert ypv("wallet", "topup", "alice@example.com", "25.50") == \
        (0, "alice@example.com: +25.50, balance 25.50\n", "")
    assert ypv("wallet", "topup", "Alice@Example.com", "0.5", "--note", "bonus") == \
        (0, "alice@example.com: +0.50, balance 26.00\n", "")
    for amount, message in [("abc", "'abc' is not an amount like 25.50"),
                            ("-1", "'-1' is not an amount like 25.50"),
                            ("1.234", "'1.234' is not an amount like 25.50"),
                            ("", "'' is not an amount like 25.50"),
                            ("0", "amount must be above zero"),
                            ("0.00", "amount must be above zero")]:
        assert ypv("wallet", "topup", "alice@example.com", amount) == (1, "", f"ypv: {message}\n"), amount
    assert ypv("wallet", "topup", "bob@example.com", "1.00") == (1, "", "ypv: no account 'bob@example.com'\n")
    assert rows(Account.select(Account.balance)) == [(2600,)]
    assert rows(Ledger.select(Ledger.amount, Ledger.kind, Ledger.note).order_by(Ledger.id)) == \
        [(2550, "topup", None), (50, "topup", "bonus")]
    assert ypv("ledger", "check") == (0, "ledger check ok\n", "")


# --- keys ------------------------------------------------------------------------------------------

def test_key_issue_prints_only_a_working_key(ypv, client):
    ypv("account", "add", "alice@example.com")
    ypv("wallet", "topup", "alice@example.com", "25.50")
    code, out, err = ypv("key", "issue", "alice@example.com")
    key = out.rstrip("\n")
    assert (code, out, KEY_LINE.match(key) is not None) == (0, key + "\n", True)
    assert err == f"key {key[:16]} for alice@example.com: scopes {ALL_SCOPES}, 600/min (shown once)\n"
    with db.connection():
        authed = keys.authenticate(key)
    assert (authed.account_id, authed.prefix, authed.scopes, authed.rate_limit) == \
        (1, key[:16], frozenset(ALL_SCOPES.split(",")), 600)
    resp = client.get("/stubs/handler_api.php", params={"api_key": key, "action": "getBalance"})
    assert resp.body == b"ACCESS_BALANCE:25.50"


def test_key_issue_with_scopes_limit_and_label(ypv, client):
    ypv("account", "add", "alice@example.com")
    code, out, err = ypv("key", "issue", "alice@example.com", "--scopes", "prices", "--limit", "5",
                         "--label", "ci bot")
    key = out.strip()
    assert (code, err) == (0, f"key {key[:16]} for alice@example.com: scopes prices, 5/min (shown once)\n")
    with db.connection():
        authed = keys.authenticate(key)
    assert (authed.scopes, authed.rate_limit) == (frozenset({"prices"}), 5)
    assert rows(ApiKey.select(ApiKey.label, ApiKey.scopes, ApiKey.rate_limit)) == [("ci bot", "prices", 5)]
    answers = []
    for action in ["getBalance", "getCountries", "getCountries", "getCountries", "getCountries", "getCountries"]:
        resp = client.get("/stubs/handler_api.php", params={"api_key": key, "action": action}, expect_errors=True)
        answers.append((resp.status_int, resp.body))
    assert answers == [(200, b"BAD_SCOPE")] + [(200, b"{}")] * 4 + [(429, b"TOO_MANY_REQUESTS")]

    code, out, err = ypv("key", "issue", "alice@example.com", "--scopes", " prices, balance ,")
    assert (code, err) == (0, f"key {out.strip()[:16]} for alice@example.com: scopes balance,prices, 600/min "
                              "(shown once)\n")


@pytest.mark.parametrize("scopes", ["prices,admin", "", ",", "Balance"])
def test_key_issue_with_a_bad_scope(ypv, scopes):
    ypv("account", "add", "alice@example.com")
    assert ypv("key", "issue", "alice@example.com", "--scopes", scopes) == \
        (1, "", f"ypv: scopes must be a comma-separated subset of {ALL_SCOPES}\n")
    assert rows(ApiKey.select()) == []


def test_key_issue_for_an_unknown_account(ypv):
    assert ypv("key", "issue", "nobody@example.com") == (1, "", "ypv: no account 'nobody@example.com'\n")
    assert rows(ApiKey.select()) == []


def test_key_issue_rejects_a_negative_limit(ypv):
    """A limit below 1 would make a key that can never be used; the schema forbids it too."""
    ypv("account", "add", "alice@example.com")
    code, out, err = ypv("key", "issue", "alice@example.com", "--limit", "-1")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"ypv: [^\n]*limit[^\n]*\n", err), err
    assert rows(ApiKey.select()) == []


def test_key_list(ypv):
    ypv("account", "add", "alice@example.com")
    ypv("account", "add", "bob@example.com")
    assert ypv("key", "list") == (0, "", "")
    alice = issue(ypv, "alice@example.com")
    bob = issue(ypv, "bob@example.com", "--scopes", "prices,balance", "--limit", "5", "--label", "ci bot")
    alice_line = f"1\t{alice[:16]}\talice@example.com\tactive\t{ALL_SCOPES}\t600/min\t\n"
    bob_line = f"2\t{bob[:16]}\tbob@example.com\tactive\tbalance,prices\t5/min\tci bot\n"
    assert ypv("key", "list") == (0, alice_line + bob_line, "")
    assert ypv("key", "list", "BOB@example.com") == (0, bob_line, "")
    assert ypv("key", "list", "nobody@example.com") == (1, "", "ypv: no account 'nobody@example.com'\n")
    ypv("key", "revoke", alice[:16])
    assert ypv("key", "list") == (0, alice_line.replace("\tactive\t", "\trevoked\t") + bob_line, "")
    assert alice not in ypv("key", "list")[1] and bob not in ypv("key", "list")[1]


def test_key_revoke(ypv):
    ypv("account", "add", "alice@example.com")
    first, second, third = (issue(ypv, "alice@example.com") for _ in range(3))
    assert ypv("key", "revoke", first[:16]) == (0, f"revoked 1 key(s) {first[:16]}\n", "")
    with db.connection():
        with pytest.raises(BadKey):
            keys.authenticate(first)
        assert keys.authenticate(second).id == 2
    assert ypv("key", "revoke", first[:16]) == (1, "", f"ypv: no active key '{first[:16]}'\n")
    assert ypv("key", "revoke", "ypv_000000000000") == (1, "", "ypv: no active key 'ypv_000000000000'\n")
    assert ypv("key", "revoke", "99") == (1, "", "ypv: no active key '99'\n")
    assert ypv("key", "revoke", "2") == (0, "revoked 1 key(s) 2\n", "")
    with db.connection():
        with pytest.raises(BadKey):
            keys.authenticate(second)
        assert keys.authenticate(third).id == 3
    assert rows(ApiKey.select(ApiKey.id, ApiKey.status).order_by(ApiKey.id)) == \
        [(1, "revoked"), (2, "revoked"), (3, "active")]


# --- catalog, numbers, prices --------------------------------------------------------------------

def test_catalog_import(ypv, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(CATALOG, ensure_ascii=False), encoding="utf-8")
    assert ypv("catalog", "import", str(path)) == (0, "imported 2 countries, 2 services, 3 prices\n", "")
    assert rows(Country.select(Country.id, Country.eng, Country.rus, Country.chn, Country.phone_code)
                .order_by(Country.id)) == [(0, "Russia", "Россия", "俄罗斯", 7), (187, "USA", "USA", "USA", 1)]
    assert rows(Service.select().order_by(Service.code)) == [("tg", "Telegram"), ("wa", "WhatsApp")]
    assert sorted(rows(Price.select(Price.service, Price.country, Price.cost))) == \
        [("tg", 0, 150), ("tg", 187, 325), ("wa", 0, 200)]
    # importing again updates in place
    changed = {**CATALOG, "services": [{"code": "tg", "name": "Telegram X"}],
               "prices": [{"service": "tg", "country": 0, "cost": "1.75"}]}
    path.write_text(json.dumps(changed), encoding="utf-8")
    assert ypv("catalog", "import", str(path)) == (0, "imported 2 countries, 1 services, 1 prices\n", "")
    assert rows(Service.select().order_by(Service.code)) == [("tg", "Telegram X"), ("wa", "WhatsApp")]
    assert sorted(rows(Price.select(Price.service, Price.country, Price.cost))) == \
        [("tg", 0, 175), ("tg", 187, 325), ("wa", 0, 200)]


@pytest.mark.parametrize("content", [
    None,  # no such file
    "{not json",
    json.dumps({"countries": [{"id": 5, "phone_code": 7}]}),  # no "eng"
    json.dumps({**CATALOG, "prices": CATALOG["prices"] + [{"service": "zz", "country": 0, "cost": "1"}]}),
    json.dumps({**CATALOG, "prices": [{"service": "tg", "country": 0, "cost": "-1"}]}),
], ids=["missing-file", "not-json", "missing-field", "unknown-service", "bad-cost"])
def test_catalog_import_of_a_bad_file_imports_nothing(ypv, tmp_path, content):
    path = tmp_path / "catalog.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = ypv("catalog", "import", str(path))
    assert (code, out) == (1, "")
    assert re.fullmatch(r"ypv: [^\n]+\n", err), err
    assert (rows(Country.select()), rows(Service.select()), rows(Price.select())) == ([], [], [])


def test_numbers_import(ypv, tmp_path):
    write_catalog(ypv, tmp_path)
    good = tmp_path / "numbers.csv"
    good.write_text("phone,country,operator\n+7 900 000-00-01,0,MTS\n79000000002,0\n\n0012025550101,187,any\n",
                    encoding="utf-8")
    assert ypv("numbers", "import", str(good)) == (0, "imported 3 new number(s)\n", "")
    assert ypv("numbers", "import", str(good)) == (0, "imported 0 new number(s)\n", "")
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,country\n79000000009,0\n79000000010,99\n123,0\n79000000011,x\n", encoding="utf-8")
    assert ypv("numbers", "import", str(bad)) == (1, "", "ypv: line 3: unknown country '99'\n"
                                                         "line 4: '123' is not a phone number\n"
                                                         "line 5: unknown country 'x'\n")
    assert rows(Number.select(Number.phone, Number.country, Number.operator, Number.active).order_by(Number.id)) == \
        [("79000000001", 0, "mts", True), ("79000000002", 0, "any", True), ("12025550101", 187, "any", True)]


def test_numbers_import_of_a_missing_file(ypv, tmp_path):
    write_catalog(ypv, tmp_path)
    code, out, err = ypv("numbers", "import", str(tmp_path / "nope.csv"))
    assert (code, out) == (1, "")
    assert re.fullmatch(r"ypv: [^\n]*nope\.csv[^\n]*\n", err), err


def test_price_set(ypv, tmp_path):
    write_catalog(ypv, tmp_path)
    assert ypv("price", "set", "tg", "0", "2.75") == (0, "price tg/0 = 2.75\n", "")
    assert ypv("price", "set", "wa", "187", "0.5") == (0, "price wa/187 = 0.50\n", "")
    for amount, message in [("0", "a price must be above zero"), ("abc", "'abc' is not an amount like 25.50"),
                            ("1.234", "'1.234' is not an amount like 25.50")]:
        assert ypv("price", "set", "tg", "0", amount) == (1, "", f"ypv: {message}\n"), amount
    assert sorted(rows(Price.select(Price.service, Price.country, Price.cost))) == \
        [("tg", 0, 275), ("tg", 187, 325), ("wa", 0, 200), ("wa", 187, 50)]


@pytest.mark.parametrize("service,country", [("zz", "0"), ("tg", "99"), ("tg", "x")])
def test_price_set_for_an_unknown_service_or_country(ypv, tmp_path, service, country):
    write_catalog(ypv, tmp_path)
    code, out, err = ypv("price", "set", service, country, "1.00")
    assert (code, out) == (1, "")
    assert re.fullmatch(r"ypv: [^\n]+\n", err), err
    assert len(rows(Price.select())) == 3


# --- sms, expiry, ledger -------------------------------------------------------------------------

def test_sms_deliver_without_a_rental_is_stored(ypv):
    assert ypv("sms", "deliver", "+7 999 000-00-00", "Your code 12345", "--sender", "Telegram") == \
        (0, "stored; no live rental on that number\n", "")
    assert rows(Sms.select(Sms.rental, Sms.phone, Sms.sender, Sms.text, Sms.code)) == \
        [(None, "79990000000", "Telegram", "Your code 12345", "12345")]


def test_sms_deliver_to_a_rental_then_expire(ypv, client, clock, tmp_path):
    write_catalog(ypv, tmp_path)
    numbers = tmp_path / "numbers.csv"
    numbers.write_text("79000000001,0\n79000000002,0\n", encoding="utf-8")
    ypv("numbers", "import", str(numbers))
    ypv("account", "add", "alice@example.com")
    ypv("wallet", "topup", "alice@example.com", "10.00")
    key = issue(ypv, "alice@example.com")
    def call(**params):
        return client.get("/stubs/handler_api.php", params={"api_key": key, **params}).body.decode()

    assert call(action="getNumber", service="tg") == "ACCESS_NUMBER:1:79000000001"
    assert call(action="getNumber", service="wa") == "ACCESS_NUMBER:2:79000000002"
    assert ypv("sms", "deliver", "79000000001", "Telegram code 51234") == (0, "delivered to rental 1\n", "")
    assert call(action="getStatus", id="1") == "STATUS_OK:51234"
    assert call(action="getBalance") == "ACCESS_BALANCE:6.50"
    assert ypv("expire") == (0, "expired 0 rental(s)\n", "")
    clock.advance(1200)  # the rentals' lifetime is over
    assert ypv("expire") == (0, "expired 2 rental(s)\n", "")
    assert ypv("expire") == (0, "expired 0 rental(s)\n", "")
    assert rows(Rental.select(Rental.id, Rental.state).order_by(Rental.id)) == [(1, "finished"), (2, "cancelled")]
    assert call(action="getBalance") == "ACCESS_BALANCE:8.50"
    assert ypv("sms", "deliver", "79000000002", "late 99999") == (0, "stored; no live rental on that number\n", "")
    assert ypv("ledger", "check") == (0, "ledger check ok\n", "")


def test_expire_with_nothing_due(ypv):
    assert ypv("expire") == (0, "expired 0 rental(s)\n", "")


def test_ledger_check_clean_and_broken(ypv):
    assert ypv("ledger", "check") == (0, "ledger check ok\n", "")
    ypv("account", "add", "alice@example.com")
    ypv("wallet", "topup", "alice@example.com", "25.50")
    assert ypv("ledger", "check") == (0, "ledger check ok\n", "")
    with db.connection():
        db.database.execute_sql("UPDATE account SET balance = balance + 1 WHERE email = 'alice@example.com'")
    assert ypv("ledger", "check") == (1, "account alice@example.com: balance 2551 != ledger sum 2550\n",
                                      "ledger check FAILED: 1 problem(s)\n")


# --- demo, configuration, usage ------------------------------------------------------------------

def test_demo_twice(ypv):
    data = json.loads(resources.files("ypv").joinpath("data/demo_catalog.json").read_text(encoding="utf-8"))
    prices = len({(p["service"], p["country"]) for p in data["prices"]})
    numbers = 30 * len({p["country"] for p in data["prices"]})
    demo_keys = []
    for added in (numbers, 0):
        code, out, err = ypv("demo")
        lines = out.split("\n")
        key = lines[2].removeprefix("demo key (shown once): ")
        assert (code, err, KEY_LINE.match(key) is not None) == (0, "", True)
        assert lines == ["demo account: demo@ypv.local  balance: 1000.00",
                         f"catalog: {prices} prices; numbers added: {added}",
                         f"demo key (shown once): {key}",
                         f"try: curl 'http://127.0.0.1:8080/stubs/handler_api.php?api_key={key}&action=getBalance'",
                         ""]
        demo_keys.append(key)
    assert demo_keys[0] != demo_keys[1]
    with db.connection():
        assert {keys.authenticate(k).account_id for k in demo_keys} == {1}
    assert len(rows(Number.select())) == numbers
    assert rows(Account.select(Account.email, Account.balance)) == [("demo@ypv.local", 100_000)]
    assert ypv("ledger", "check") == (0, "ledger check ok\n", "")


@pytest.mark.parametrize("name,value,message", [
    ("YPV_CURRENCY", "XYZ", "YPV_CURRENCY='XYZ' is not supported; use one of CNY, EUR, GBP, INR, KZT, RUB, UAH, USD"),
    ("YPV_EARLY_CANCEL_SECONDS", "abc", "YPV_EARLY_CANCEL_SECONDS='abc' is not a whole number"),
    ("YPV_EARLY_CANCEL_SECONDS", "-5", "YPV_EARLY_CANCEL_SECONDS='-5' must be at least 0"),
    ("YPV_EARLY_CANCEL_SECONDS", "1200", "YPV_EARLY_CANCEL_SECONDS must be shorter than YPV_RENTAL_TTL_SECONDS"),
    ("YPV_DATABASE_URL", "mysql://x/y", "YPV_DATABASE_URL='mysql://x/y' must start with sqlite:// or postgresql://"),
])
def test_bad_configuration_names_the_variable(ypv, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    assert ypv("account", "add", "alice@example.com") == (1, "", f"ypv: {message}\n")
    assert ypv("ledger", "check") == (1, "", f"ypv: {message}\n")
    assert rows(Account.select()) == []  # the proxy still points at the test database


def test_usage_errors_exit_2(ypv, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["wallet", "topup", "alice@example.com"])
    out, err = capsys.readouterr()
    assert (exited.value.code, out) == (2, "")
    assert err.endswith("ypv wallet topup: error: the following arguments are required: amount\n"), err
