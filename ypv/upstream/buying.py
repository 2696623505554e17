"""getNumber through upstreams: the customer is charged for a number they receive, and only then.

1. One transaction charges the customer and records a *pending* rental (its id is
   our orderId upstream, so a retry of the same purchase cannot buy twice there).
2. Upstreams are tried by priority, never one that would cost us more than we charge.
   NO_NUMBERS moves on quietly; any other failure alerts the operator and moves on.
3. A definite sale turns the rental *waiting*. If every upstream fails, the rental
   becomes *failed* and the charge is refunded in the same transaction; the
   customer sees NO_NUMBERS, never an upstream's own token or text.
4. An ambiguous answer (timeout, dropped connection, 5xx, garbage) may hide a sale:
   an upstream that honours orderId is asked once more with the same orderId and
   either hands over that same number or did not sell; otherwise (or if that also
   fails) the orphan reconciler finds any sale via getActiveActivations and
   cancels it (ypv/upstream/orphans.py).
"""

import logging

from ypv import db, wallet
from ypv.errors import NoNumbers
from ypv.models import Rental, Upstream
from ypv.upstream import registry
from ypv.upstream.client import Ambiguous, Refused

log = logging.getLogger(__name__)


def provider_name(upstream_id: int) -> str:
    return f"upstream:{upstream_id}"


def upstream_of(rental: Rental) -> Upstream | None:
    if not rental.provider.startswith("upstream:"):
        return None
    return Upstream.get_or_none(Upstream.id == int(rental.provider.split(":", 1)[1]))


def buy(order, cost: int, offers: list, now: int, ttl: int) -> Rental:
    """Sell one upstream number to the customer at ``cost``, or raise NoNumbers (no charge kept)."""
    candidates = [o for o in offers if o.cost <= cost and o.stock > 0]
    if not candidates:
        raise NoNumbers()
    rental = _reserve(order, cost, now, ttl)
    for offer in candidates:
        upstream = Upstream.get_or_none(Upstream.id == offer.upstream_id)
        sale = _buy_from(upstream, order, rental.id, now) if upstream else None
        if sale is not None:
            return _deliver(rental, upstream, offer.cost, sale, now)
    _fail(rental, now)
    raise NoNumbers()


def _reserve(order, cost: int, now: int, ttl: int) -> Rental:
    with db.write_transaction():
        wallet.take(order.account_id, cost)
        rental = Rental.create(
            account=order.account_id, api_key=order.key_id, service=order.service, country=order.country,
            phone="", cost=cost, state="pending", order_id=order.order_id, provider="upstream",
            created_at=now, state_at=now, expires_at=now + ttl)
        wallet.record_charge(order.account_id, rental.id, cost, now)
    return rental


def _buy_from(upstream: Upstream, order, rental_id: int, now: int) -> tuple[str, str] | None:
    """(activation id, phone) bought from this upstream, or None after alerting as needed."""
    api = registry.client(upstream)
    params = {"service": order.service, "country": order.country,
              "orderId": f"ypv-{rental_id}" if upstream.honours_order_id else None}
    for attempt in (1, 2):
        try:
            return _parse_sale(api.call("getNumber", **params).body)
        except Refused as exc:
            if exc.token != "NO_NUMBERS":
                registry.alert(upstream, "getNumber", exc.reason, now)
            return None
        except Ambiguous as exc:
            registry.alert(upstream, "getNumber", f"{exc.reason} (attempt {attempt}; reconciling)", now)
            if not upstream.honours_order_id:
                return None  # a retry without orderId could buy a second number
    return None


def _parse_sale(body: str) -> tuple[str, str]:
    parts = body.split(":")
    if len(parts) != 3 or parts[0] != "ACCESS_NUMBER" or not parts[1].isdigit() or not parts[2].isdigit():
        raise Ambiguous("unexpected answer to getNumber")
    return parts[1], parts[2]


def _deliver(rental: Rental, upstream: Upstream, upstream_cost: int, sale: tuple[str, str], now: int) -> Rental:
    activation_id, phone = sale
    with db.write_transaction():
        Rental.update(state="waiting", phone=phone, upstream_id=activation_id, upstream_cost=upstream_cost,
                      provider=provider_name(upstream.id), state_at=now).where(Rental.id == rental.id).execute()
    registry.mark_ok(upstream)
    return Rental.get_by_id(rental.id)


def _fail(rental: Rental, now: int) -> None:
    """Nothing was sold: refund, and free the orderId so the client may try again later."""
    with db.write_transaction():
        updated = Rental.update(state="failed", order_id=None, ended_at=now, state_at=now).where(
            (Rental.id == rental.id) & (Rental.state == "pending")).execute()
        if updated:
            wallet.refund(rental.account_id, rental.id, rental.cost, now)


def fail_stale_pending(now: int, older_than: int) -> int:
    """Crash recovery: a purchase still pending long after any upstream call could last is refunded.

    Whatever the upstream may have sold meanwhile is an orphan the reconciler cancels.
    """
    stale = Rental.select().where((Rental.state == "pending") & (Rental.created_at <= now - older_than))
    count = 0
    for rental in stale:
        _fail(rental, now)
        count += 1
    return count
