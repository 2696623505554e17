"""Test a phone-verification flow offline: ypv's pytest plugin stands in for SMS-Activate.

`pip install ypv aiosmsactivate`, then run pytest: the `ypv_server` fixture starts a real
ypv on a free loopback port with a fresh database, the demo catalog and a funded key.
"""

import asyncio

from aiosmsactivate import SmsActivate
from aiosmsactivate.types import SetActivationStatus


async def verify_phone(client: SmsActivate, service_sends_code) -> str:
    """The code under test: rent a Telegram number, have the code sent to it, read it, finish."""
    number = await client.purchase("tg", country=0)
    service_sends_code(number.phone_number)
    code = await client.wait_sms_code(number, timeout=30, per_attempt=1)
    await client.set_activation_status(number.activation_id, SetActivationStatus.COMPLETE)
    return code


def test_phone_verification(ypv_server):
    client = SmsActivate(ypv_server.api_key, base_url=ypv_server.handler_url)

    def telegram_texts(phone):  # what the real service would do
        ypv_server.deliver_sms(phone, "Telegram code: 51234. Do not give this code to anyone.")

    assert asyncio.run(verify_phone(client, telegram_texts)) == "51234"
    assert ypv_server.balance() == "998.91"  # 1000.00 minus the demo price of Telegram in Russia
