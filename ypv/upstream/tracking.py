"""Live upstream rentals: status polling, setStatus forwarding, expiry.

However often customers poll, an activation is asked about upstream at most once
per ``YPV_UPSTREAM_POLL_SECONDS``: a conditional UPDATE of ``upstream_polled_at``
picks the one request that may call; every other request answers from what is
stored. Codes are stored locally once seen.
"""

import logging

from ypv import db, rentals
from ypv.errors import BadStatus, EarlyCancelDenied, ErrorSql
from ypv.models import LIVE_STATES, Rental
from ypv.upstream import registry
from ypv.upstream.buying import upstream_of
from ypv.upstream.client import Ambiguous, Refused, UpstreamFailure

log = logging.getLogger(__name__)


def refresh(rental: Rental, now: int, every: float) -> bool:
    """Bring a live upstream rental up to date (expiry first); True if it changed. Pool rentals: no-op."""
    if rental.provider == "pool" or rental.state not in LIVE_STATES:
        return False
    changed = poll(rental, now, every)
    if now >= rental.expires_at:
        changed = expire(Rental.get_by_id(rental.id) if changed else rental, now) or changed
    return changed


def poll(rental: Rental, now: int, every: float) -> bool:
    """Refresh a live upstream rental from its upstream if its poll slot is due; True if it changed."""
    upstream = upstream_of(rental)
    if upstream is None or rental.state not in LIVE_STATES or not _claim_slot(rental.id, now, every):
        return False
    api = registry.client(upstream)
    try:
        answer = api.call("getStatus", id=rental.upstream_id)
    except Refused as exc:
        if exc.token in ("NO_ACTIVATION", "STATUS_CANCEL"):
            return _ended_upstream(rental, now)
        registry.alert(upstream, "getStatus", exc.reason, now)
        return False
    except Ambiguous as exc:
        registry.alert(upstream, "getStatus", exc.reason, now)
        return False
    if answer.token == "STATUS_CANCEL":
        return _ended_upstream(rental, now)
    if answer.token == "STATUS_OK" and answer.value and answer.value != rental.code:
        return _record_code(rental, answer.value, _full_text(api, rental, answer.value), now)
    return False


def _claim_slot(rental_id: int, now: int, every: float) -> bool:
    with db.write_transaction():
        return Rental.update(upstream_polled_at=now).where(
            (Rental.id == rental_id)
            & (Rental.upstream_polled_at.is_null() | (Rental.upstream_polled_at <= now - every))
        ).execute() == 1


def _full_text(api, rental: Rental, code: str) -> str:
    try:
        answer = api.call("getFullSms", id=rental.upstream_id)
    except UpstreamFailure:
        return code
    return answer.value if answer.token == "FULL_SMS" and answer.value else code


def _record_code(rental: Rental, code: str, text: str, now: int) -> bool:
    code = "".join(ch for ch in code if ch.isalnum())[:16]  # a code never contains ':'
    with db.write_transaction():
        return Rental.update(state="code", code=code, sms_text=text, sms_at=now, state_at=now).where(
            (Rental.id == rental.id) & Rental.state.in_(("waiting", "retry"))).execute() == 1


def _ended_upstream(rental: Rental, now: int) -> bool:
    """The upstream cancelled or expired it: no code → refund as our own expiry would; else finished."""
    if rental.state == "waiting":
        return rentals.cancel_with_refund(rental, now)
    return rentals.finish(rental, now)


def set_status(rental: Rental, status: str, now: int, early_cancel_seconds: int) -> str:
    """setStatus on an upstream rental: our own state rules first, then the upstream decides."""
    upstream = upstream_of(rental)
    if status == "1":
        if rental.state != "waiting":
            raise BadStatus()
        _forward(upstream, rental, "1", now)
        return "ACCESS_READY"
    if status in rentals.CANCEL_STATUSES:
        return _cancel(upstream, rental, now, early_cancel_seconds)
    if status == "3" and rental.state == "code":
        if _forward(upstream, rental, "3", now) != "ACCESS_RETRY_GET":
            raise BadStatus()
    if status == "6" and rental.state in ("code", "retry"):
        _forward(upstream, rental, "6", now)  # finished for the customer whatever the upstream says
    return rentals.set_status(rental, status, now, early_cancel_seconds)


def _cancel(upstream, rental: Rental, now: int, early_cancel_seconds: int) -> str:
    if rental.state != "waiting":
        return rentals.set_status(rental, "8", now, early_cancel_seconds)  # ACCESS_CANCEL or BAD_STATUS
    if now < rental.created_at + early_cancel_seconds:
        raise EarlyCancelDenied()
    answer = _forward(upstream, rental, "8", now)
    if answer == "EARLY_CANCEL_DENIED":
        raise EarlyCancelDenied()
    if answer not in ("ACCESS_CANCEL", "NO_ACTIVATION", "STATUS_CANCEL"):
        raise ErrorSql()  # the upstream did not confirm: no refund; the client may try again
    return rentals.set_status(rental, "8", now, 0)


def _forward(upstream, rental: Rental, status: str, now: int) -> str | None:
    """The upstream's answer token to setStatus, or None if it could not be reached."""
    if upstream is None:
        return None
    try:
        return registry.client(upstream).call("setStatus", id=rental.upstream_id, status=status).token
    except Refused as exc:
        if exc.token not in ("EARLY_CANCEL_DENIED", "BAD_STATUS", "NO_ACTIVATION"):
            registry.alert(upstream, f"setStatus {status}", exc.reason, now)
        return exc.token
    except Ambiguous as exc:
        registry.alert(upstream, f"setStatus {status}", exc.reason, now)
        return None


def expire(rental: Rental, now: int) -> bool:
    """Our lifetime is over: cancel upstream first (refund only once it agrees), or finish."""
    upstream = upstream_of(rental)
    if rental.state == "waiting":
        answer = _forward(upstream, rental, "8", now)
        if answer in ("ACCESS_CANCEL", "NO_ACTIVATION", "STATUS_CANCEL"):
            return rentals.cancel_with_refund(rental, now)
        if answer != "BAD_STATUS" or not poll(rental, now, every=0):
            return False  # tried again on the next sweep
        rental = Rental.get_by_id(rental.id)  # a code arrived upstream at the last moment: it is sold
    _forward(upstream, rental, "6", now)
    return rentals.finish(rental, now)


def live_upstream_rentals() -> list[Rental]:
    return list(Rental.select().where(Rental.provider.startswith("upstream:") & Rental.state.in_(LIVE_STATES)))
