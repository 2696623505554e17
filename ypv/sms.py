"""SMS into rentals: phone normalisation, code extraction, delivery.

Every SMS is stored (``sms`` table), with or without a live rental, so nothing
an operator's gateway sends is lost. A code moves the rental to "code received"
from waiting or from waiting-for-retry; the whole text stays readable through
getFullSms and getStatusV2.
"""

import re
import unicodedata

from peewee import IntegrityError

from ypv import db
from ypv.models import LIVE_STATES, Rental, Sms

# 123-456 / 123 456 count as one code; otherwise the first run of 4-8 digits.
_CODE = re.compile(r"(?<!\d)(\d{3}[- ]\d{3}|\d{4,8})(?!\d)")


def normalize_phone(raw: str) -> str:
    """'+7 (999) 123-45-67' / '0079991234567' -> '79991234567'."""
    digits = "".join(str(unicodedata.digit(ch)) for ch in raw if ch.isdigit())
    if not raw.strip().startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    return digits


def extract_code(text: str) -> str | None:
    match = _CODE.search(text)
    if not match:
        return None
    return "".join(str(unicodedata.digit(ch)) for ch in match.group(1) if ch.isdigit())


def deliver(phone: str, text: str, now: int, sender: str | None = None,
            external_id: str | None = None) -> int | None:
    """Store an SMS and apply it to the live rental on that number; returns the rental id.

    With an ``external_id`` a retried delivery is applied once: the second call
    finds the first one's row and returns its rental.
    """
    phone = normalize_phone(phone)
    code = extract_code(text)
    try:
        with db.write_transaction():
            rental = (Rental.select(Rental.id).where((Rental.phone == phone) & Rental.state.in_(LIVE_STATES))
                      .order_by(Rental.id.desc()).first())
            rental_id = rental.id if rental else None
            Sms.create(rental=rental_id, phone=phone, sender=sender, text=text, code=code,
                       external_id=external_id, received_at=now)
            if rental_id is not None and code is not None:
                Rental.update(state="code", code=code, sms_text=text, sms_at=now, state_at=now).where(
                    (Rental.id == rental_id) & Rental.state.in_(LIVE_STATES)).execute()
            return rental_id
    except IntegrityError:
        if external_id is None:
            raise
        return Sms.get(Sms.external_id == external_id).rental_id
