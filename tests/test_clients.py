"""Three real SMS-Activate client libraries, unmodified except for their base URL, against a live ypv.

Libraries: smsactivate 1.5 (sync, GET), aiosmsactivate 1.5.1 (async, POST, pydantic models), smsactivateru 1.2.6
(sync, GET, legacy protocol). What each one sends and how it parses the answers is written down in docs/clients.md.

Needs the ``ypv_server`` fixture from conftest.py: a real gunicorn with a fresh database (demo catalog), an API key
with every scope on an account holding exactly 1000.00, YPV_EARLY_CANCEL_SECONDS=0. Every test starts from that
balance, so the fixture must give each test a fresh account (function scope, or a fresh key/account per test).

Async code runs through ``asyncio.run`` inside ordinary tests, so pytest-asyncio is not needed.
"""

import asyncio
import re
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import smsactivate.api
from aiosmsactivate import SmsActivate, SmsActivateException
from aiosmsactivate.models import ActivationData, Number, SetActivationStatusResponse, Sms as AioSms
from aiosmsactivate.types import ActivationStatus, SetActivationStatus
from smsactivateru import GetBalance, GetFreeSlots, GetNumber, GetStatus, SetStatus, Sms, SmsService, SmsTypes
from smsactivateru.activations import SmsActivation
from smsactivateru.models import ErrorsModel

pytestmark = pytest.mark.live

START = "1000.00"
SERVICE = "tg"
SMS_TEXT = "Your Telegram code: 51234"
CODE = "51234"
SOLD_IN_RUSSIA = ("wa", "tg", "go", "fb", "ig", "vk", "ok", "ot")
# The keys smsactivateru's GetFreeSlots reads with int(service_list[key]) (smsactivateru/services.py:ServiceStorage).
CLASSIC_KEYS = (
    "vk_0 ok_0 wa_0 vi_0 tg_0 wb_0 go_0 av_0 av_1 fb_0 tw_0 ot_0 ot_1 ub_0 qw_0 gt_0 sn_0 ig_0 ss_0 ym_0 ym_1 ma_0 "
    "mm_0 uk_0 me_0 mb_0 we_0 bd_0 kp_0 dt_0 ya_0 ya_1 mt_0 oi_0 fd_0 zz_0 kt_0 pm_0 tn_0"
).split()
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


# --------------------------------------------------------------------------------------------------- helpers


def money(value) -> str:
    """Render an amount the way getBalance does: exactly two decimals."""
    return f"{Decimal(value).quantize(Decimal('0.01')):.2f}"


def minus(*prices: Decimal) -> str:
    return money(Decimal(START) - sum(prices, Decimal(0)))


def as_price(cost) -> Decimal:
    """A getPrices ``cost`` (a JSON number) as an exact Decimal with at most two decimals."""
    assert isinstance(cost, (int, float)) and not isinstance(cost, bool), cost
    price = Decimal(str(cost))
    assert price > 0
    assert price == price.quantize(Decimal("0.01")), cost
    return price


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def assert_russian_phone(phone: str) -> None:
    assert isinstance(phone, str)
    assert re.fullmatch(r"7\d{10}", phone), phone


def new_smsactivate(ypv_server) -> smsactivate.api.SMSActivateAPI:
    api = smsactivate.api.SMSActivateAPI(ypv_server.api_key)
    # The only supported way to point smsactivate 1.5 elsewhere: its URL is a name-mangled private attribute.
    api._SMSActivateAPI__api_url = ypv_server.handler_url
    return api


def new_aio(ypv_server) -> SmsActivate:
    # One URL, never a list: with a list the library retries the next URL on any error (and buys twice).
    return SmsActivate(ypv_server.api_key, base_url=ypv_server.handler_url)


def new_ru(ypv_server) -> Sms:
    wrapper = Sms(ypv_server.api_key)
    wrapper.url = ypv_server.handler_url
    return wrapper


def tg_price(ypv_server) -> Decimal:
    """Price of tg in country 0 read through smsactivate's getPrices (for smsactivateru, which has no price call)."""
    prices = new_smsactivate(ypv_server).getPrices(service=SERVICE, country=0)
    return as_price(prices["0"][SERVICE]["cost"])


class DeliverLater(threading.Thread):
    """Deliver an SMS from a thread after ``delay`` seconds; ``finish()`` re-raises a delivery failure."""

    def __init__(self, ypv_server, phone: str, text: str, delay: float):
        super().__init__(daemon=True)
        self.args_ = (ypv_server, phone, text, delay)
        self.error = None

    def run(self):
        ypv_server, phone, text, delay = self.args_
        threading.Event().wait(delay)
        try:
            ypv_server.deliver_sms(phone, text)
        except BaseException as exc:  # re-raised in the test thread by finish()
            self.error = exc

    def finish(self):
        self.join(10)
        assert not self.is_alive(), "SMS delivery thread did not finish"
        if self.error is not None:
            raise self.error


# --------------------------------------------------------------------------------------------------- smsactivate 1.5


def test_smsactivate_balance_and_catalog(ypv_server):
    api = new_smsactivate(ypv_server)

    assert api.getBalance() == {"balance": START}
    assert api.getBalanceAndCashBack() == {"balance": START}
    assert ypv_server.balance() == START

    countries = api.getCountries()
    russia = countries["0"]
    assert russia["id"] == 0 and is_int(russia["id"])
    assert russia["eng"] == "Russia"
    assert russia["rus"] == "Россия"  # UTF-8 must survive requests' decoding (charset in Content-Type)
    for flag in ("visible", "retry", "rent", "multiService"):
        assert is_int(russia[flag]), (flag, russia[flag])
    for key, country in countries.items():
        assert key == str(country["id"])

    status = api.getNumbersStatus(country=0)
    for key in CLASSIC_KEYS:
        assert is_int(status[key]), (key, status.get(key))
    for code in SOLD_IN_RUSSIA:
        assert status[f"{code}_0"] >= 20, code
    assert all(is_int(v) for v in status.values())

    prices = api.getPrices(country=0)
    assert list(prices) == ["0"]
    for code in SOLD_IN_RUSSIA:
        entry = prices["0"][code]
        as_price(entry["cost"])
        assert is_int(entry["count"]) and entry["count"] >= 20, (code, entry)

    tg_only = api.getPrices(service=SERVICE, country=0)
    assert list(tg_only) == ["0"] and list(tg_only["0"]) == [SERVICE]
    assert tg_only["0"][SERVICE] == prices["0"][SERVICE]

    everywhere = api.getPrices(service=SERVICE)  # no country: every country selling tg
    assert everywhere["0"][SERVICE] == prices["0"][SERVICE]

    assert api.getActiveActivations() == {"status": "success", "activeActivations": []}


def test_smsactivate_rent_and_finish(ypv_server):
    api = new_smsactivate(ypv_server)
    price = as_price(api.getPrices(service=SERVICE, country=0)["0"][SERVICE]["cost"])
    assert api.getBalance() == {"balance": START}

    bought = api.getNumber(service=SERVICE, country=0)
    assert set(bought) == {"activation_id", "phone"}
    activation_id, phone = bought["activation_id"], str(bought["phone"])
    assert is_int(activation_id) and 0 < activation_id < 2**31
    assert_russian_phone(phone)

    # The charge is taken at purchase.
    assert api.getBalance() == {"balance": minus(price)}

    assert api.getStatus(id=activation_id) == "STATUS_WAIT_CODE"
    assert api.getFullSms(id=activation_id) == "STATUS_WAIT_CODE"
    assert api.setStatus(id=activation_id, status=1) == "ACCESS_READY"
    assert api.getStatus(id=activation_id) == "STATUS_WAIT_CODE"

    active = api.getActiveActivations()
    assert active["status"] == "success"
    [item] = active["activeActivations"]
    assert str(item["activationId"]) == str(activation_id)
    assert str(item["phoneNumber"]) == phone
    assert item["serviceCode"] == SERVICE

    ypv_server.deliver_sms(phone, SMS_TEXT)

    assert api.getStatus(id=activation_id) == f"STATUS_OK:{CODE}"
    assert api.getFullSms(id=activation_id) == f"FULL_SMS:{SMS_TEXT}"
    assert api.setStatus(id=activation_id, status=6) == "ACCESS_ACTIVATION"
    assert api.getStatus(id=activation_id) == f"STATUS_OK:{CODE}"
    assert api.setStatus(id=activation_id, status=6) == "ACCESS_ACTIVATION"  # a repeat is harmless
    assert api.setStatus(id=activation_id, status=8) == {
        "error": "BAD_STATUS",
        "message": "Attempt to establish a non-existent status",
    }

    expected = minus(price)
    assert api.getBalance() == {"balance": expected}
    assert ypv_server.balance() == expected
    assert api.getActiveActivations() == {"status": "success", "activeActivations": []}


def test_smsactivate_rent_and_cancel(ypv_server):
    api = new_smsactivate(ypv_server)
    price = as_price(api.getPrices(service=SERVICE, country=0)["0"][SERVICE]["cost"])

    bought = api.getNumber(service=SERVICE, country=0)
    activation_id = bought["activation_id"]
    assert_russian_phone(str(bought["phone"]))
    assert api.getBalance() == {"balance": minus(price)}

    assert api.setStatus(id=activation_id, status=8) == "ACCESS_CANCEL"
    # smsactivate turns the whole-body token STATUS_CANCEL into an error dict (its __ERRORS table).
    cancelled = {"error": "STATUS_CANCEL", "message": "Current activation canceled and no longer available"}
    assert api.getStatus(id=activation_id) == cancelled
    assert api.getFullSms(id=activation_id) == cancelled
    assert api.getBalance() == {"balance": START}

    # A repeated cancel is harmless and refunds nothing more; finishing a cancelled activation is refused.
    assert api.setStatus(id=activation_id, status=8) == "ACCESS_CANCEL"
    assert api.setStatus(id=activation_id, status=6) == {
        "error": "BAD_STATUS",
        "message": "Attempt to establish a non-existent status",
    }
    assert api.getBalance() == {"balance": START}
    assert ypv_server.balance() == START
    assert api.getActiveActivations() == {"status": "success", "activeActivations": []}


def test_smsactivate_number_v2_and_legacy_cancel(ypv_server):
    api = new_smsactivate(ypv_server)
    cost = api.getPrices(service=SERVICE, country=0)["0"][SERVICE]["cost"]
    price = as_price(cost)

    data = api.getNumberV2(service=SERVICE, country=0)
    assert is_int(data["activationId"]) and 0 < data["activationId"] < 2**31
    assert_russian_phone(data["phoneNumber"])
    assert isinstance(data["activationCost"], (int, float)) and Decimal(str(data["activationCost"])) == price
    assert data["currency"] == 840
    assert data["countryCode"] == "0"
    assert data["countryPhoneCode"] == 7
    assert data["canGetAnotherSms"] is True
    assert isinstance(data["activationOperator"], str) and data["activationOperator"]
    started = datetime.strptime(data["activationTime"], TIME_FORMAT)
    ends = datetime.strptime(data["activationEndTime"], TIME_FORMAT)
    assert ends - started == timedelta(minutes=20)
    assert api.getBalance() == {"balance": minus(price)}

    # Legacy cancel code -1.
    assert api.setStatus(id=data["activationId"], status=-1) == "ACCESS_CANCEL"
    assert api.getStatus(id=data["activationId"])["error"] == "STATUS_CANCEL"
    assert api.getBalance() == {"balance": START}


# --------------------------------------------------------------------------------------------------- aiosmsactivate


def test_aiosmsactivate_balance_and_catalog(ypv_server):
    async def scenario():
        sa = new_aio(ypv_server)
        assert await sa.get_balance() == float(START)
        assert await sa.get_balance_and_cashback() == float(START)

        countries = await sa.get_countries()
        assert countries["0"]["eng"] == "Russia"
        assert countries["0"]["id"] == 0

        services = await sa.get_service_list(country=0)
        assert services["status"] == "success"
        codes = {s["code"]: s["name"] for s in services["services"]}
        assert set(SOLD_IN_RUSSIA) <= set(codes)
        assert codes["tg"] == "Telegram"
        # get_service_name calls getServicesList without a country (every country).
        assert await sa.get_service_name("wa") == "WhatsApp"
        assert await sa.get_service_name("tg") == "Telegram"

        prices = await sa.get_prices(service=SERVICE, country=0)
        entry = prices["0"][SERVICE]
        as_price(entry["cost"])
        assert is_int(entry["count"]) and entry["count"] >= 20

        # get_count_numbers requires both arguments; None would make yarl raise TypeError, so pass "any".
        counts = await sa.get_count_numbers("0", "any")
        for code in SOLD_IN_RUSSIA:
            assert is_int(counts[f"{code}_0"]) and counts[f"{code}_0"] >= 20, code

        assert await sa.get_active_activations() == {"status": "success", "activeActivations": []}

    asyncio.run(scenario())


def test_aiosmsactivate_rent_and_finish(ypv_server):
    async def scenario():
        sa = new_aio(ypv_server)
        price = as_price((await sa.get_prices(service=SERVICE, country=0))["0"][SERVICE]["cost"])
        assert await sa.get_balance() == float(START)

        number = await sa.purchase(SERVICE, country=0)  # getNumberV2, parsed into the pydantic Number model
        assert isinstance(number, Number)
        assert is_int(number.activation_id) and 0 < number.activation_id < 2**31
        assert_russian_phone(number.phone_number)
        assert number.activation_cost == float(price)
        assert number.country_code == "0"
        assert number.can_get_another_sms is True
        assert isinstance(number.operator, str) and number.operator
        assert number.service == SERVICE
        assert number.end_activation_time - number.activation_unix_time == 20 * 60
        datetime.strptime(number.activation_time, TIME_FORMAT)

        assert await sa.get_balance() == float(minus(price))

        waiting = await sa.get_activation_status(number)  # getStatusV2
        assert isinstance(waiting, ActivationData)
        assert waiting.sms is None and waiting.call is None
        assert waiting.verification_type == 0
        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.WAIT, None)
        assert await sa.set_activation_status(number.activation_id, SetActivationStatus.READY) == (
            SetActivationStatusResponse.READY
        )

        active = await sa.get_active_activations()
        assert active["status"] == "success"
        [item] = active["activeActivations"]
        assert str(item["activationId"]) == str(number.activation_id)
        assert str(item["phoneNumber"]) == number.phone_number

        ypv_server.deliver_sms(number.phone_number, SMS_TEXT)

        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.OK, CODE)
        got = await sa.get_activation_status(number.activation_id)
        assert isinstance(got, ActivationData) and isinstance(got.sms, AioSms)
        assert got.sms.code == CODE
        assert got.sms.text == SMS_TEXT
        datetime.strptime(got.sms.date_time, TIME_FORMAT)
        assert got.call is None

        assert await sa.set_activation_status(number.activation_id, SetActivationStatus.COMPLETE) == (
            SetActivationStatusResponse.ACTIVATED
        )
        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.OK, CODE)
        assert await sa.get_balance() == float(minus(price))
        assert ypv_server.balance() == minus(price)
        assert await sa.get_active_activations() == {"status": "success", "activeActivations": []}

    asyncio.run(scenario())


def test_aiosmsactivate_rent_and_cancel(ypv_server):
    async def scenario():
        sa = new_aio(ypv_server)
        price = as_price((await sa.get_prices(service=SERVICE, country=0))["0"][SERVICE]["cost"])

        number = await sa.getNumberV2(SERVICE, country=0)
        assert isinstance(number, Number)
        assert await sa.get_balance() == float(minus(price))

        assert await sa.set_activation_status(number.activation_id, SetActivationStatus.CANCEL) == (
            SetActivationStatusResponse.CANCEL
        )
        # getStatusV2 of a cancelled activation is the plain token, which the library hands back as a str.
        assert await sa.get_activation_status(number) == "STATUS_CANCEL"
        assert await sa.get_activation_status_v1(number.activation_id) == (ActivationStatus.CANCEL, None)
        assert await sa.get_balance() == float(START)

        with pytest.raises(SmsActivateException) as refused:
            await sa.set_activation_status(number.activation_id, SetActivationStatus.COMPLETE)
        assert refused.value.code == "BAD_STATUS"

        # Repeat cancel: same answer, no second refund.
        assert await sa.set_activation_status(number.activation_id, 8) == SetActivationStatusResponse.CANCEL
        assert await sa.get_balance() == float(START)
        assert ypv_server.balance() == START

    asyncio.run(scenario())


def test_aiosmsactivate_wait_sms_code(ypv_server):
    async def scenario():
        sa = new_aio(ypv_server)
        price = as_price((await sa.get_prices(service=SERVICE, country=0))["0"][SERVICE]["cost"])

        # 1. SMS arrives while wait_sms_code polls: setStatus 1, poll getStatus every second, setStatus 3 on a code.
        first = await sa.purchase(SERVICE, country=0)
        delivery = DeliverLater(ypv_server, first.phone_number, SMS_TEXT, delay=1.5)
        delivery.start()
        code = await sa.wait_sms_code(first, timeout=30, per_attempt=1)
        delivery.finish()
        assert code == CODE
        # wait_sms_code ended with setStatus 3: the activation waits for another SMS.
        assert await sa.get_activation_status_v1(first.activation_id) == (ActivationStatus.RETRY, CODE)
        ypv_server.deliver_sms(first.phone_number, "Your Telegram code: 67890")
        assert await sa.get_activation_status_v1(first.activation_id) == (ActivationStatus.OK, "67890")
        assert await sa.set_activation_status(first.activation_id, SetActivationStatus.COMPLETE) == (
            SetActivationStatusResponse.ACTIVATED
        )

        # 2. SMS already there: the initial setStatus 1 fails (swallowed by the library), the first poll sees it.
        second = await sa.purchase(SERVICE, country=0)
        ypv_server.deliver_sms(second.phone_number, SMS_TEXT)
        assert await sa.wait_sms_code(second.activation_id, timeout=30, per_attempt=1) == CODE
        assert await sa.set_activation_status(second.activation_id, SetActivationStatus.COMPLETE) == (
            SetActivationStatusResponse.ACTIVATED
        )

        assert await sa.get_balance() == float(minus(price, price))
        assert ypv_server.balance() == minus(price, price)

    asyncio.run(scenario())


# --------------------------------------------------------------------------------------------------- smsactivateru


def test_smsactivateru_balance_and_catalog(ypv_server):
    wrapper = new_ru(ypv_server)
    assert GetBalance().request(wrapper) == float(START)

    for slots in (GetFreeSlots(country=SmsTypes.Country.RU).request(wrapper), GetFreeSlots().request(wrapper)):
        assert isinstance(slots, SmsService)
        for service in (
            slots.Whatsapp,
            slots.Telegram,
            slots.Google,
            slots.Facebook,
            slots.Instagram,
            slots.VkCom,
            slots.Odnoklassniki,
            slots.AnyOther,
        ):
            assert service.count >= 20


def test_smsactivateru_rent_and_finish(ypv_server):
    wrapper = new_ru(ypv_server)
    price = tg_price(ypv_server)  # smsactivateru has no price call

    # A real user passes SmsTypes.Country.RU == '0' (an int 0 would be dropped as falsy).
    activation = GetNumber(service=SmsService().Telegram, country=SmsTypes.Country.RU).request(wrapper)
    assert isinstance(activation, SmsActivation)
    assert isinstance(activation.id, str) and activation.id.isdigit() and 0 < int(activation.id) < 2**31
    assert_russian_phone(activation.phone_number)
    assert GetBalance().request(wrapper) == float(minus(price))

    assert GetStatus(id=activation.id).request(wrapper) == {"status": "STATUS_WAIT_CODE", "code": None}
    assert activation.was_sent() == {"status": "ACCESS_READY"}

    ypv_server.deliver_sms(activation.phone_number, SMS_TEXT)

    assert GetStatus(id=activation.id).request(wrapper) == {"status": "STATUS_OK", "code": CODE}
    assert SetStatus(id=activation.id, status=SmsTypes.Status.End).request(wrapper) == {"status": "ACCESS_ACTIVATION"}
    assert GetStatus(id=activation.id).request(wrapper) == {"status": "STATUS_OK", "code": CODE}

    assert GetBalance().request(wrapper) == float(minus(price))
    assert ypv_server.balance() == minus(price)


def test_smsactivateru_rent_and_cancel(ypv_server):
    wrapper = new_ru(ypv_server)
    price = tg_price(ypv_server)

    activation = GetNumber(service=SmsService().Telegram, country=SmsTypes.Country.RU).request(wrapper)
    assert_russian_phone(activation.phone_number)
    assert GetBalance().request(wrapper) == float(minus(price))

    assert activation.cancel() == {"status": "ACCESS_CANCEL"}  # setStatus status=-1
    with pytest.raises(ErrorsModel) as cancelled:
        GetStatus(id=activation.id).request(wrapper)
    assert cancelled.value.code == "STATUS_CANCEL"

    assert GetBalance().request(wrapper) == float(START)
    assert activation.cancel() == {"status": "ACCESS_CANCEL"}  # repeat: no second refund
    assert GetBalance().request(wrapper) == float(START)
    assert ypv_server.balance() == START


def test_smsactivateru_wait_code_default_country(ypv_server):
    wrapper = new_ru(ypv_server)
    price = tg_price(ypv_server)

    # The README way: no country at all, so the instance default country (0) applies.
    activation = GetNumber(service=SmsService().Telegram).request(wrapper)
    assert_russian_phone(activation.phone_number)
    assert activation.was_sent() == {"status": "ACCESS_READY"}

    ypv_server.deliver_sms(activation.phone_number, SMS_TEXT)
    # wait_code polls getStatus once a second and sends setStatus 6 when a code shows up.
    assert activation.wait_code(timeout=30) == CODE
    assert activation.last_code == CODE
    assert GetStatus(id=activation.id).request(wrapper) == {"status": "STATUS_OK", "code": CODE}
    assert SetStatus(id=activation.id, status=SmsTypes.Status.End).request(wrapper) == {"status": "ACCESS_ACTIVATION"}

    assert GetBalance().request(wrapper) == float(minus(price))
    assert ypv_server.balance() == minus(price)
