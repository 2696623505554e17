"""The operator's upstreams: add, list, remove; markup arithmetic; health and alerts."""

import logging
import time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from peewee import IntegrityError

from ypv import db
from ypv.errors import NotFound
from ypv.models import Upstream, UpstreamEvent
from ypv.upstream.client import UpstreamClient

log = logging.getLogger(__name__)
KEEP_EVENTS = 200


def sell_price(upstream_cost: int, markup_bp: int, markup_fixed: int) -> int:
    """Our price in minor units: cost × (1 + percent) + fixed, rounded half up to the minor unit."""
    return (upstream_cost * (10_000 + markup_bp) + 5_000) // 10_000 + markup_fixed


def to_minor(amount) -> int:
    """An upstream's decimal price (JSON number or string) in minor units, rounded half up."""
    try:
        value = Decimal(str(amount)) * 100
    except InvalidOperation:
        raise ValueError(f"{amount!r} is not a price") from None
    if not value.is_finite() or value <= 0:
        raise ValueError(f"{amount!r} is not a price")
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_to_bp(text: str) -> int:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"--markup-percent {text!r} is not a number") from None
    if not value.is_finite() or value < 0 or value > 10_000:
        raise ValueError(f"--markup-percent {text!r} must be between 0 and 10000")
    return int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def add(name: str, url: str, api_key: str, now: int, priority: int = 100, timeout: float = 10.0,
        markup_bp: int = 0, markup_fixed: int = 0, honours_order_id: bool = False) -> Upstream:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} must be an http:// or https:// URL of a handler_api.php")
    if not api_key or any(ch.isspace() for ch in api_key):
        raise ValueError("the key file must hold exactly one API key")
    if not 0 < timeout <= 120:
        raise ValueError("--timeout must be between 0 and 120 seconds")
    try:
        with db.write_transaction():
            return Upstream.create(name=name, url=url, api_key=api_key, priority=priority,
                                   timeout_ms=int(timeout * 1000), markup_bp=markup_bp, markup_fixed=markup_fixed,
                                   honours_order_id=honours_order_id, created_at=now)
    except IntegrityError:
        raise ValueError(f"an upstream named {name!r} already exists") from None


def find(name: str) -> Upstream:
    upstream = Upstream.get_or_none(Upstream.name == name)
    if upstream is None:
        raise NotFound(f"no upstream {name!r}")
    return upstream


def remove(name: str) -> None:
    with db.write_transaction():
        find(name).delete_instance()


def by_priority() -> list[Upstream]:
    return list(Upstream.select().order_by(Upstream.priority, Upstream.id))


def client(upstream: Upstream) -> UpstreamClient:
    return UpstreamClient(upstream.url, upstream.api_key, upstream.timeout_ms / 1000)


def alert(upstream: Upstream, action: str, reason: str, now: int | None = None) -> None:
    """A loud, operator-facing failure: an ERROR log line, the upstream's status, an event row."""
    now = int(time.time()) if now is None else now
    log.error("UPSTREAM %s FAILED on %s: %s", upstream.name, action, reason)
    with db.write_transaction():
        Upstream.update(status="error", last_error=f"{action}: {reason}", last_error_at=now).where(
            Upstream.id == upstream.id).execute()
        UpstreamEvent.create(upstream=upstream.id, action=action, detail=reason, created_at=now)
        stale = (UpstreamEvent.select(UpstreamEvent.id).where(UpstreamEvent.upstream == upstream.id)
                 .order_by(UpstreamEvent.id.desc()).offset(KEEP_EVENTS))
        UpstreamEvent.delete().where(UpstreamEvent.id.in_(stale)).execute()


def mark_ok(upstream: Upstream) -> None:
    if upstream.status != "ok":
        with db.write_transaction():
            Upstream.update(status="ok").where(Upstream.id == upstream.id).execute()
