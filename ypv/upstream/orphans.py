"""Upstream activations nobody pays for, and how they get cancelled.

An orphan is an activation the upstream lists in getActiveActivations that no
rental of ours knows: a sale hidden behind a timeout or a dropped connection, or
one bought just before a crash. It is cancelled once it has stayed unknown for a
grace period (so a purchase that is still being recorded is never mistaken for
one), and retried on every pass until the upstream accepts the cancel (it may
refuse inside its own early-cancel window).
"""

import logging

from ypv import db
from ypv.models import Rental, Upstream, UpstreamOrphan
from ypv.upstream import registry
from ypv.upstream.buying import provider_name
from ypv.upstream.client import Ambiguous, Refused

log = logging.getLogger(__name__)
CANCELLED = ("ACCESS_CANCEL", "NO_ACTIVATION", "STATUS_CANCEL", "BAD_STATUS")


def reconcile(upstream: Upstream, now: int, grace: float) -> dict:
    """One pass over one upstream; returns {'found': n, 'cancelled': n, 'open': n}."""
    active = _active_activations(upstream, now)
    if active is None:
        return {"found": 0, "cancelled": 0, "open": _open_count(upstream)}
    known = {a for (a,) in Rental.select(Rental.upstream_id).where(
        (Rental.provider == provider_name(upstream.id)) & Rental.upstream_id.is_null(False)).tuples()}
    found = 0
    with db.write_transaction():
        for activation_id, phone in active.items():
            if activation_id not in known:
                found += UpstreamOrphan.insert(upstream=upstream.id, activation_id=activation_id, phone=phone,
                                               first_seen_at=now).on_conflict_ignore().execute() and 1 or 0
    cancelled = sum(_cancel(upstream, orphan, now) for orphan in _due(upstream, now, grace))
    return {"found": found, "cancelled": cancelled, "open": _open_count(upstream)}


def _active_activations(upstream: Upstream, now: int) -> dict | None:
    """{activation id: phone} the upstream says are running, or None if it could not say."""
    try:
        data = registry.client(upstream).call("getActiveActivations").json()
    except Refused as exc:
        if exc.token in ("NO_ACTIVATIONS", "NO_ACTIVATION"):
            return {}
        registry.alert(upstream, "getActiveActivations", exc.reason, now)
        return None
    except Ambiguous as exc:
        registry.alert(upstream, "getActiveActivations", exc.reason, now)
        return None
    items = data.get("activeActivations") if isinstance(data, dict) else None
    if not isinstance(items, list):
        registry.alert(upstream, "getActiveActivations", "unexpected answer", now)
        return None
    return {str(i.get("activationId")): str(i.get("phoneNumber") or "") for i in items
            if isinstance(i, dict) and i.get("activationId") is not None}


def _due(upstream: Upstream, now: int, grace: float) -> list:
    return list(UpstreamOrphan.select().where(
        (UpstreamOrphan.upstream == upstream.id) & UpstreamOrphan.cancelled_at.is_null()
        & (UpstreamOrphan.first_seen_at <= now - grace)))


def _cancel(upstream: Upstream, orphan: UpstreamOrphan, now: int) -> int:
    try:
        token = registry.client(upstream).call("setStatus", id=orphan.activation_id, status=8).token
        error = None if token in CANCELLED else f"answered {token}"
    except Refused as exc:
        token, error = exc.token, None if exc.token in CANCELLED else exc.reason
    except Ambiguous as exc:
        token, error = None, exc.reason
    with db.write_transaction():
        UpstreamOrphan.update(attempts=UpstreamOrphan.attempts + 1, last_error=error,
                              cancelled_at=None if error else now).where(UpstreamOrphan.id == orphan.id).execute()
    if error:
        log.warning("upstream %s: orphan %s not cancelled yet: %s", upstream.name, orphan.activation_id, error)
        return 0
    log.warning("upstream %s: cancelled orphan activation %s", upstream.name, orphan.activation_id)
    return 1


def _open_count(upstream: Upstream) -> int:
    return UpstreamOrphan.select().where(
        (UpstreamOrphan.upstream == upstream.id) & UpstreamOrphan.cancelled_at.is_null()).count()
