"""Simulated SMS for demo mode (YPV_DEMO_SMS_DELAY_SECONDS).

A rental waiting for a code (first one, or another after setStatus 3) receives
a generated one once it has waited the configured delay. Delivery moves the
rental out of waiting, so each wait gets exactly one simulated SMS.
"""

import secrets

from ypv import sms
from ypv.models import Rental, Service


def deliver_due(now: int, delay: int) -> int:
    due = (Rental.select(Rental.phone, Service.name).join(Service)
           .where(Rental.state.in_(("waiting", "retry")) & (Rental.state_at <= now - delay)
                  & (Rental.provider == "pool"))
           .tuples())
    delivered = 0
    for phone, service_name in list(due):
        code = f"{secrets.randbelow(900000) + 100000}"
        if sms.deliver(phone, f"Your {service_name} code: {code}. Do not share it.", now) is not None:
            delivered += 1
    return delivered
