"""SMS into rentals: phone normalisation and delivery.

Every SMS is stored (``sms`` table), with or without a live rental, so nothing an
operator's gateway sends is lost; ``unrouted()`` lists the ones no rental took.
A code moves the rental to "code received" from waiting or from waiting-for-retry;
the whole text stays readable through getFullSms and getStatusV2. The webhook and
``ypv sms deliver`` both come through ``deliver``.
"""

import unicodedata

from peewee import IntegrityError

from ypv import db
from ypv.codes import compile_pattern, extract_code
from ypv.models import LIVE_STATES, CodePattern, Rental, Sms


def normalize_phone(raw: str) -> str:
    """'+7 (999) 123-45-67' / '0079991234567' -> '79991234567'."""
    digits = "".join(str(unicodedata.digit(ch)) for ch in raw if ch.isdigit())
    if not raw.strip().startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    return digits


def operator_patterns(service: str | None) -> tuple:
    """The operator's patterns for this service first, then those for every service."""
    query = CodePattern.select(CodePattern.pattern, CodePattern.service).where(
        CodePattern.service.is_null() | (CodePattern.service == service)).order_by(CodePattern.id)
    rows = list(query.tuples())
    return tuple(p for p, s in rows if s is not None) + tuple(p for p, s in rows if s is None)


def deliver(phone: str, text: str, now: int, sender: str | None = None,
            external_id: str | None = None, received_at: int | None = None) -> int | None:
    """Store an SMS and apply it to the live rental on that number; returns the rental id.

    With an ``external_id`` a retried delivery is applied once: the second call
    finds the first one's row and returns its rental.
    """
    phone = normalize_phone(phone)
    try:
        with db.write_transaction():
            # A rental past its lifetime is over even before the sweeper ends it: a code must not
            # turn it into "code received", or expiry would finish it instead of refunding it.
            rental = (Rental.select(Rental.id, Rental.service).where(
                (Rental.phone == phone) & Rental.state.in_(LIVE_STATES) & (Rental.expires_at > now))
                .order_by(Rental.id.desc()).first())
            service = rental.service_id if rental else None
            code = extract_code(text, service, operator_patterns(service))
            Sms.create(rental=rental.id if rental else None, phone=phone, sender=sender, text=text, code=code,
                       external_id=external_id, received_at=received_at or now)
            if rental is not None and code is not None:
                Rental.update(state="code", code=code, sms_text=text, sms_at=now, state_at=now).where(
                    (Rental.id == rental.id) & Rental.state.in_(LIVE_STATES)).execute()
            return rental.id if rental else None
    except IntegrityError:
        if external_id is None:
            raise
        return Sms.get(Sms.external_id == external_id).rental_id


def unrouted(limit: int = 100) -> list[Sms]:
    """SMS that arrived for a number with no live rental, newest first."""
    return list(Sms.select().where(Sms.rental.is_null()).order_by(Sms.id.desc()).limit(limit))


def add_pattern(service: str | None, pattern: str, now: int) -> CodePattern:
    compile_pattern(pattern)
    return CodePattern.create(service=service, pattern=pattern, created_at=now)
