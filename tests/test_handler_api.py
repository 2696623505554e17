"""Exact bytes for every action and error path (WebTest, fake clock).

Runs on SQLite, and on PostgreSQL when YPV_TEST_POSTGRES_URL is set (.ci/run does both).
"""

import json

import pytest

from ypv import accounts, db, keys, rentals, sms, wallet
from ypv.models import Rental

TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"


def test_balance_exact_bytes(api):
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    assert api("getBalanceAndCashBack") == (200, TEXT, "ACCESS_BALANCE:100.00")


@pytest.mark.parametrize("key", [None, "", "nope", "ypv_" + "0" * 63, "YPV_" + "a" * 64, "ypv_" + "A" * 64,
                                 "ypv_" + "a" * 64])
def test_bad_key_is_a_plain_token(api, key):
    assert api("getBalance", key=key) == (200, TEXT, "BAD_KEY")


def test_bad_key_on_catalog_actions_is_json(api):
    assert api("getPrices", key="nope") == (200, JSON, '{"status":"error","error":"BAD_KEY"}')
    assert api("getActiveActivations", key=None) == (200, JSON, '{"status":"error","error":"BAD_KEY"}')


def test_bad_key_comes_before_bad_action(api):
    assert api("noSuchAction", key="nope") == (200, TEXT, "BAD_KEY")


@pytest.mark.parametrize("action", [None, "", "getbalance", "getPrices ", "x" * 10_000])
def test_bad_action_is_always_plain(api, action):
    if action == "getPrices ":
        # surrounding whitespace is ignored, as for every parameter
        assert api(action)[1] == JSON
        return
    assert api(action) == (200, TEXT, "BAD_ACTION")


def test_revoked_key_fails_on_the_very_next_request(api, seed):
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"
    with db.connection():
        keys.revoke_key(keys.key_prefix(seed.key), int(seed.clock()))
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_disabled_account_keys_stop_working(api, seed):
    assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"
    with db.connection():
        accounts.set_disabled(seed.account_id, True)
    assert api("getBalance") == (200, TEXT, "BAD_KEY")
    with db.connection():
        accounts.set_disabled(seed.account_id, False)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")


def test_only_the_hash_is_stored(app, seed):
    from ypv.models import ApiKey
    with db.connection():
        row = ApiKey.get(ApiKey.key_hash == keys.hash_key(seed.key))
        values = [str(v) for v in ApiKey.select().tuples().first()]
    assert row.prefix == seed.key[:16]
    assert all(seed.key not in value for value in values)


def test_authorization_header(client, seed):
    resp = client.get("/stubs/handler_api.php", params={"action": "getBalance"},
                      headers={"Authorization": f"ApiKey {seed.key}"})
    assert resp.body == b"ACCESS_BALANCE:100.00"


def test_post_with_parameters_in_query_and_empty_body(client, seed):
    resp = client.post(f"/stubs/handler_api.php?api_key={seed.key}&action=getBalance", "",
                       content_type="application/x-www-form-urlencoded")
    assert (resp.status_int, resp.body) == (200, b"ACCESS_BALANCE:100.00")


def test_post_form_body_and_query_wins_on_clash(client, seed):
    resp = client.post("/stubs/handler_api.php?action=getBalance",
                       {"api_key": seed.key, "action": "getNumber"})
    assert resp.body == b"ACCESS_BALANCE:100.00"


def test_repeated_parameters_take_the_last_value(client, seed):
    resp = client.get(f"/stubs/handler_api.php?api_key={seed.key}&action=getNumber&action=getBalance")
    assert resp.body == b"ACCESS_BALANCE:100.00"


def test_unknown_parameters_are_ignored(api):
    assert api("getBalance", ref="abc", json="1", lang="ru", forward="0", **{"country ": "0"})[2] == \
        "ACCESS_BALANCE:100.00"


@pytest.mark.parametrize("scopes,action,expected", [
    ("prices", "getBalance", "BAD_SCOPE"),
    ("balance", "getNumber", "BAD_SCOPE"),
    ("balance", "setStatus", "BAD_SCOPE"),
    ("purchase", "setStatus", "BAD_SCOPE"),
    ("balance", "getStatus", "BAD_SCOPE"),
    ("cancel", "getStatus", "WRONG_ACTIVATION_ID"),
    ("purchase", "getStatus", "WRONG_ACTIVATION_ID"),
    ("balance", "noSuchAction", "BAD_ACTION"),
])
def test_scopes(api, seed, scopes, action, expected):
    assert api(action, key=seed.add_key(scopes)) == (200, TEXT, expected)


def test_bad_scope_on_catalog_action_is_json(api, seed):
    assert api("getCountries", key=seed.add_key("balance")) == \
        (200, JSON, '{"status":"error","error":"BAD_SCOPE"}')


# --- getNumber ------------------------------------------------------------------------------

def test_get_number_charges_and_answers_id_and_phone(api):
    assert api("getNumber", service="tg", country=0) == (200, TEXT, "ACCESS_NUMBER:1:79000000001")
    assert api.body("getBalance") == "ACCESS_BALANCE:98.50"


def test_missing_country_means_the_default_country(api):
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:1:79000000001"


@pytest.mark.parametrize("params,expected", [
    ({}, "BAD_SERVICE"),
    ({"service": ""}, "BAD_SERVICE"),
    ({"service": "zz"}, "BAD_SERVICE"),
    ({"service": "tg", "country": "abc"}, "BAD_COUNTRY"),
    ({"service": "tg", "country": "-1"}, "BAD_COUNTRY"),
    ({"service": "tg", "country": "99"}, "BAD_COUNTRY"),
    ({"service": "tg", "country": "1.5"}, "BAD_COUNTRY"),
    ({"service": "wa", "country": "187"}, "NO_NUMBERS"),
    ({"service": "tg", "country": "1"}, "NO_NUMBERS"),
    ({"service": "tg", "maxPrice": "1.49"}, "WRONG_MAX_PRICE:1.50"),
    ({"service": "tg", "maxPrice": "abc"}, "WRONG_MAX_PRICE:1.50"),
    ({"service": "tg", "maxPrice": "-5"}, "WRONG_MAX_PRICE:1.50"),
    ({"service": "tg", "country": "187", "maxPrice": "2.999"}, "WRONG_MAX_PRICE:3.00"),
])
def test_get_number_errors(api, params, expected):
    assert api("getNumber", **params) == (200, TEXT, expected)
    assert api("getNumberV2", **params) == (200, TEXT, expected)
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"


def test_max_price_equal_to_the_price_buys(api):
    assert api.body("getNumber", service="tg", maxPrice="1.5") == "ACCESS_NUMBER:1:79000000001"


def test_no_balance(api, seed):
    poor = seed.add_key(account_id=seed.add_account("poor@example.com", 149))
    assert api("getNumber", key=poor, service="tg") == (200, TEXT, "NO_BALANCE")
    assert api.body("getBalance", key=poor) == "ACCESS_BALANCE:1.49"


def test_operator_and_phone_exception(api):
    assert api.body("getNumber", service="tg", operator="beeline") == "ACCESS_NUMBER:1:79000000003"
    assert api.body("getNumber", service="tg", operator="tele2,beeline") == "ACCESS_NUMBER:2:79180000004"
    assert api.body("getNumber", service="tg", operator="megafon") == "NO_NUMBERS"
    assert api.body("getNumber", service="wa", phoneException="7900,+7 918 00000 04") == \
        "ACCESS_NUMBER:3:79180000005"
    assert api.body("getNumber", service="ot", operator="any") == "ACCESS_NUMBER:4:79000000001"


def test_filtered_picks_share_a_few_statement_texts(api, seed, sql_texts):
    """Operator and phoneException lists of any length get the answers they always did, while
    the pick's text changes with the length only in a few steps (each text is a prepared
    statement that every connection running it keeps)."""
    operators = ["megafon", "yota", "mts", "a1", "b2", "c3", "d4"]
    bought = [api.body("getNumber", service="tg", operator=",".join(operators[:n])) for n in (1, 2, 3, 5, 7)]
    assert [b.split(":")[-1] for b in bought] == \
        ["NO_NUMBERS", "NO_NUMBERS", "79000000001", "79000000002", "79180000005"]  # the mts numbers
    seed.clock.advance(120)  # cancel them (after the early-cancel window): every number is free again
    assert {api.body("setStatus", id=b.split(":")[1], status=8) for b in bought[2:]} == {"ACCESS_CANCEL"}
    prefixes = ["555", "556", "557", "558", "559"]
    bought = [api.body("getNumber", service="wa", phoneException=",".join(prefixes[:n])) for n in (1, 2, 5)]
    assert [b.split(":")[-1] for b in bought] == ["79000000001", "79000000002", "79000000003"]
    last = api.body("getNumber", service="wa", phoneException=",".join(prefixes + ["7900"]))
    assert last.split(":")[-1] == "79180000004"  # 7900… excluded
    picks = {sql for sql in sql_texts if sql.startswith("SELECT n.id, n.phone, n.operator")}
    assert len(picks) == 4  # operator lists: one length (20); prefix lists: 1, 4 and 16


def test_pool_runs_out(api):
    bodies = [api.body("getNumber", service="tg") for _ in range(6)]
    assert bodies[:5] == [f"ACCESS_NUMBER:{i}:{p}" for i, p in enumerate(
        ["79000000001", "79000000002", "79000000003", "79180000004", "79180000005"], start=1)]
    assert bodies[5] == "NO_NUMBERS"
    assert api.body("getBalance") == "ACCESS_BALANCE:92.50"


def test_a_number_is_never_rented_twice_for_the_same_service(api, seed):
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:1:79000000001"
    with db.connection():
        sms.deliver("79000000001", "code 12345", int(seed.clock()))
    assert api.body("setStatus", id=1, status=6) == "ACCESS_ACTIVATION"
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:2:79000000002"
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:3:79000000003"
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:4:79180000004"
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:5:79180000005"
    assert api.body("getNumber", service="tg") == "NO_NUMBERS"  # number 1 is free, but was tg's once
    assert api.body("getNumber", service="wa") == "ACCESS_NUMBER:6:79000000001"


def test_order_id_is_idempotent(api):
    first = api.body("getNumber", service="tg", orderId="order-1")
    assert first == "ACCESS_NUMBER:1:79000000001"
    assert api.body("getNumber", service="tg", orderId="order-1") == first
    assert api.body("getNumber", service="tg", orderId="order-1", country="0") == first
    assert api.body("getNumber", service="wa", orderId="order-1") == "ORDER_ALREADY_EXISTS"
    assert api.body("getNumber", service="tg", country="187", orderId="order-1") == "ORDER_ALREADY_EXISTS"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.50"
    assert api.body("getNumber", service="tg", orderId="order-2") == "ACCESS_NUMBER:2:79000000002"


def test_order_id_is_per_account(api, seed):
    other = seed.add_key(account_id=seed.add_account("other@example.com", 1000))
    assert api.body("getNumber", service="tg", orderId="same") == "ACCESS_NUMBER:1:79000000001"
    assert api.body("getNumber", key=other, service="tg", orderId="same") == "ACCESS_NUMBER:2:79000000002"


def test_get_number_v2_types(api):
    status, ctype, body = api("getNumberV2", service="tg", country=0)
    assert (status, ctype) == (200, JSON)
    assert body == ('{"activationId":1,"phoneNumber":"79000000001","activationCost":1.5,"currency":840,'
                    '"countryCode":"0","countryPhoneCode":7,"canGetAnotherSms":true,'
                    '"activationTime":"2026-09-21 14:13:20","activationEndTime":"2026-09-21 14:33:20",'
                    '"activationOperator":"mts"}')


# --- activation state machine --------------------------------------------------------------

def _rent(api, seed, service="tg"):
    body = api.body("getNumber", service=service)
    _, rental_id, phone = body.split(":")
    return rental_id, phone


def _sms(seed, phone, text):
    with db.connection():
        return sms.deliver(phone, text, int(seed.clock()))


@pytest.mark.parametrize("action", ["getStatus", "getStatusV2", "getFullSms", "setStatus"])
@pytest.mark.parametrize("value,expected", [(None, "WRONG_ACTIVATION_ID"), ("", "WRONG_ACTIVATION_ID"),
                                            ("abc", "WRONG_ACTIVATION_ID"), ("-1", "WRONG_ACTIVATION_ID"),
                                            ("0", "WRONG_ACTIVATION_ID"), ("2147483648", "WRONG_ACTIVATION_ID"),
                                            ("1e3", "WRONG_ACTIVATION_ID"), ("99", "NO_ACTIVATION")])
def test_activation_id_errors(api, action, value, expected):
    params = {"status": "8"} if action == "setStatus" else {}
    if value is not None:
        params["id"] = value
    assert api(action, **params) == (200, TEXT, expected)


def test_another_accounts_activation_is_no_activation(api, seed):
    rental_id, _ = _rent(api, seed)
    other = seed.add_key(account_id=seed.add_account("other@example.com", 1000))
    assert api.body("getStatus", key=other, id=rental_id) == "NO_ACTIVATION"
    assert api.body("setStatus", key=other, id=rental_id, status=8) == "NO_ACTIVATION"


def test_full_lifecycle_with_retry(api, seed):
    rental_id, phone = _rent(api, seed)
    assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_CODE"
    assert api("getStatusV2", id=rental_id) == (200, JSON, '{"verificationType":0,"sms":null,"call":null}')
    assert api.body("getFullSms", id=rental_id) == "STATUS_WAIT_CODE"
    assert api.body("setStatus", id=rental_id, status=1) == "ACCESS_READY"
    assert api.body("setStatus", id=rental_id, status=6) == "BAD_STATUS"
    assert api.body("setStatus", id=rental_id, status=3) == "BAD_STATUS"

    seed.clock.advance(5)
    assert _sms(seed, phone, "Telegram code: 51234. Никому не сообщайте") == int(rental_id)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:51234"
    assert api.body("getFullSms", id=rental_id) == "FULL_SMS:Telegram code: 51234. Никому не сообщайте"
    assert api.body("getStatusV2", id=rental_id) == (
        '{"verificationType":0,"sms":{"dateTime":"2026-09-21 14:13:25","code":"51234",'
        '"text":"Telegram code: 51234. Никому не сообщайте"},"call":null}')
    assert api.body("setStatus", id=rental_id, status=1) == "BAD_STATUS"
    assert api.body("setStatus", id=rental_id, status=8) == "BAD_STATUS"

    assert api.body("setStatus", id=rental_id, status=3) == "ACCESS_RETRY_GET"
    assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_RETRY:51234"
    assert api.body("setStatus", id=rental_id, status=3) == "BAD_STATUS"
    assert _sms(seed, phone, "Your code 777-888") == int(rental_id)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:777888"

    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:777888"
    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"
    for status in ("1", "3", "8", "-1"):
        assert api.body("setStatus", id=rental_id, status=status) == "BAD_STATUS"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.50"
    assert _sms(seed, phone, "late 99999") is None


def test_finish_from_waiting_for_retry(api, seed):
    rental_id, phone = _rent(api, seed)
    _sms(seed, phone, "12345")
    assert api.body("setStatus", id=rental_id, status=3) == "ACCESS_RETRY_GET"
    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"


def _read_rental(rental_id):
    with db.connection():
        return Rental.get_by_id(int(rental_id))


def test_a_finish_that_loses_the_race_to_another_finish_is_still_access_activation(api, seed):
    """Two setStatus 6 at once: both read "code", one UPDATE wins; the other must not say BAD_STATUS."""
    rental_id, phone = _rent(api, seed)
    _sms(seed, phone, "12345")
    stale = _read_rental(rental_id)
    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"
    with db.connection():
        assert rentals.set_status(stale, "6", int(seed.clock()), 120) == "ACCESS_ACTIVATION"


def test_a_cancel_that_loses_the_race_to_another_cancel_is_still_access_cancel(api, seed):
    rental_id, _ = _rent(api, seed)
    seed.clock.advance(120)
    stale = _read_rental(rental_id)
    assert api.body("setStatus", id=rental_id, status=8) == "ACCESS_CANCEL"
    with db.connection():
        assert rentals.set_status(stale, "8", int(seed.clock()), 120) == "ACCESS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"


@pytest.mark.parametrize("cancel", ["8", "-1"])
def test_cancel_refunds_once_after_the_early_window(api, seed, cancel):
    rental_id, _ = _rent(api, seed)
    assert api.body("setStatus", id=rental_id, status=cancel) == "EARLY_CANCEL_DENIED"
    seed.clock.advance(119)
    assert api.body("setStatus", id=rental_id, status=cancel) == "EARLY_CANCEL_DENIED"
    seed.clock.advance(1)
    assert api.body("setStatus", id=rental_id, status=cancel) == "ACCESS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert api.body("setStatus", id=rental_id, status=cancel) == "ACCESS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert api.body("getStatus", id=rental_id) == "STATUS_CANCEL"
    assert api.body("getStatusV2", id=rental_id) == "STATUS_CANCEL"
    assert api.body("getFullSms", id=rental_id) == "STATUS_CANCEL"
    for status in ("1", "3", "6"):
        assert api.body("setStatus", id=rental_id, status=status) == "BAD_STATUS"


@pytest.mark.parametrize("status", [None, "", "2", "4", "abc", "8.0", "9" * 50])
def test_bad_status_values(api, seed, status):
    rental_id, _ = _rent(api, seed)
    params = {"id": rental_id} if status is None else {"id": rental_id, "status": status}
    assert api.body("setStatus", **params) == "BAD_STATUS"


def test_expiry_without_code_refunds(api, seed):
    rental_id, phone = _rent(api, seed)
    seed.clock.advance(1199)
    assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_CODE"
    seed.clock.advance(1)
    assert api.body("getStatus", id=rental_id) == "STATUS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
    assert _sms(seed, phone, "too late 12345") is None


def test_expiry_with_code_finishes(api, seed):
    rental_id, phone = _rent(api, seed)
    _sms(seed, phone, "code 4321")
    assert api.body("setStatus", id=rental_id, status=3) == "ACCESS_RETRY_GET"
    seed.clock.advance(1200)
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:4321"
    assert api.body("setStatus", id=rental_id, status=6) == "ACCESS_ACTIVATION"
    assert api.body("getBalance") == "ACCESS_BALANCE:98.50"


def test_sweeper_expires_without_polling_and_never_twice(api, seed):
    from ypv import rentals
    waiting, _ = _rent(api, seed)
    coded, phone = _rent(api, seed)
    _sms(seed, phone, "code 4321")
    seed.clock.advance(1200)
    with db.connection():
        assert rentals.expire_due(int(seed.clock())) == 2
        assert rentals.expire_due(int(seed.clock())) == 0
        assert wallet.ledger_mismatches() == []
    assert api.body("getBalance") == "ACCESS_BALANCE:98.50"
    assert api.body("getStatus", id=waiting) == "STATUS_CANCEL"
    assert api.body("getStatus", id=coded) == "STATUS_OK:4321"


def test_number_returns_to_stock_when_rental_ends(api, seed):
    def tg_count():
        return json.loads(api.body("getPrices", service="wa", country=0))["0"]["wa"]["count"]
    assert tg_count() == 5
    rental_id, phone = _rent(api, seed)
    assert tg_count() == 4
    _sms(seed, phone, "12345")
    api.body("setStatus", id=rental_id, status=6)
    assert tg_count() == 5


def test_get_active_activations(api, seed):
    assert api("getActiveActivations") == (200, JSON, '{"status":"success","activeActivations":[]}')
    rental_id, phone = _rent(api, seed)
    _sms(seed, phone, "Code 55555")
    body = json.loads(api.body("getActiveActivations"))
    assert body == {"status": "success", "activeActivations": [{
        "activationId": "1", "serviceCode": "tg", "phoneNumber": "79000000001", "activationCost": "1.50",
        "activationStatus": "2", "smsCode": ["55555"], "smsText": "Code 55555",
        "activationTime": "2026-09-21 14:13:20", "discount": "0.00", "repeated": "0", "countryCode": "0",
        "countryName": "Russia", "canGetAnotherSms": "1"}]}


# --- catalog --------------------------------------------------------------------------------

def test_get_prices(api):
    assert api("getPrices", service="tg", country=0) == (200, JSON, '{"0":{"tg":{"cost":1.5,"count":5}}}')
    assert api.body("getPrices", service="tg") == '{"0":{"tg":{"cost":1.5,"count":5}},"187":{"tg":{"cost":3.0,"count":2}}}'
    assert api.body("getPrices", country=187) == '{"187":{"tg":{"cost":3.0,"count":2}}}'
    assert api.body("getPrices", country=1) == "{}"
    assert json.loads(api.body("getPrices"))["0"] == {"ot": {"cost": 0.25, "count": 5},
                                                      "tg": {"cost": 1.5, "count": 5},
                                                      "wa": {"cost": 2.0, "count": 5}}


@pytest.mark.parametrize("action,params,token", [
    ("getPrices", {"service": "zz"}, "BAD_SERVICE"),
    ("getPrices", {"country": "99"}, "BAD_COUNTRY"),
    ("getPrices", {"country": "x"}, "BAD_COUNTRY"),
    ("getServicesList", {"country": "99"}, "BAD_COUNTRY"),
    ("getNumbersStatus", {"country": "abc"}, "BAD_COUNTRY"),
    ("getTopCountriesByService", {"service": "nope"}, "BAD_SERVICE"),
    ("getOperators", {"country": "4242"}, "BAD_COUNTRY"),
])
def test_catalog_errors_are_json(api, action, params, token):
    assert api(action, **params) == (200, JSON, f'{{"status":"error","error":"{token}"}}')


def test_get_countries(api):
    assert api("getCountries") == (200, JSON, (
        '{"0":{"id":0,"rus":"Россия","eng":"Russia","chn":"俄罗斯","visible":1,"retry":1,"rent":0,"multiService":0},'
        '"1":{"id":1,"rus":"Украина","eng":"Ukraine","chn":"乌克兰","visible":1,"retry":1,"rent":0,"multiService":0},'
        '"187":{"id":187,"rus":"США","eng":"USA","chn":"美国","visible":1,"retry":1,"rent":0,"multiService":0}}'))


def test_get_services_list(api):
    everything = ('{"status":"success","services":[{"code":"ot","name":"Any other"},'
                  '{"code":"tg","name":"Telegram"},{"code":"wa","name":"WhatsApp"}]}')
    assert api("getServicesList") == (200, JSON, everything)
    assert api.body("getServicesList", country=187) == \
        '{"status":"success","services":[{"code":"tg","name":"Telegram"}]}'


def test_get_numbers_status(api):
    from ypv.catalog_actions import CLASSIC_STATUS_KEYS
    counts = json.loads(api.body("getNumbersStatus", country=0))
    assert set(CLASSIC_STATUS_KEYS) <= set(counts)
    assert (counts["tg_0"], counts["wa_0"], counts["ot_0"], counts["vk_0"]) == (5, 5, 5, 0)
    assert all(type(v) is int for v in counts.values())
    assert json.loads(api.body("getNumbersStatus"))["tg_0"] == 7
    assert json.loads(api.body("getNumbersStatus", country=0, operator="mts"))["tg_0"] == 3


def test_get_top_countries_by_service(api):
    assert api("getTopCountriesByService", service="tg") == (200, JSON, (
        '{"0":{"country":0,"count":5,"price":1.5,"retail_price":1.5},'
        '"1":{"country":187,"count":2,"price":3.0,"retail_price":3.0}}'))


def test_get_operators(api):
    assert api("getOperators", country=0) == (
        200, JSON, '{"status":"success","countryOperators":{"0":["any","beeline","mts","tele2"]}}')
    assert api.body("getOperators") == \
        '{"status":"success","countryOperators":{"0":["any","beeline","mts","tele2"],"187":["any"]}}'


def test_the_hand_written_read_gives_what_peewee_gives(api, seed):
    """db.get_model (every getStatus) against Peewee's own get: same data, nothing dirty, and
    the instance behaves as a model (save writes only what changed)."""
    from ypv.models import Rental
    rental_id = int(api("getNumber", service="tg", country="0")[2].split(":")[1])
    with db.connection():
        ours = db.get_model(Rental, "id = {p}", (rental_id,))
        peewee = Rental.get_by_id(rental_id)
        assert ours.__data__ == peewee.__data__ and ours._dirty == peewee._dirty == set()
        assert (ours.account_id, ours.account.id) == (seed.account_id, seed.account_id)
        ours.code = "123456"
        assert ours._dirty == {"code"}
