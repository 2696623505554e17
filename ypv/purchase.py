"""Buying a number: validation, orderId idempotency, charge and lease in one transaction."""

from dataclasses import dataclass

from peewee import IntegrityError

from ypv import db, wallet
from ypv.catalog import Catalog
from ypv.errors import NoNumbers, OrderAlreadyExists, WrongMaxPrice
from ypv.models import Rental
from ypv.money import render
from ypv.providers import NumberFilter
from ypv.upstream import buying


@dataclass(frozen=True)
class Order:
    account_id: int
    key_id: int | None
    service: str
    country: int
    wanted: NumberFilter = NumberFilter()
    max_price: int | None = None
    order_id: str | None = None


def buy(order: Order, catalog: Catalog, now: int, ttl: int) -> Rental:
    """Sell one number to an account, or raise the error token that explains why not.

    The local pool sells the pairs the operator priced; when it has no free number,
    or the pair is sold only upstream, the upstreams are tried (ypv/upstream/buying.py).
    """
    catalog.service(order.service)
    catalog.country(order.country)
    cost = catalog.price(order.service, order.country)
    if cost is None:
        raise NoNumbers()
    if order.max_price is not None and cost > order.max_price:
        raise WrongMaxPrice(render(cost))
    try:
        if (order.country, order.service) in catalog.local_prices():
            try:
                return db.retry_on_conflict(lambda: _buy_once(order, catalog, cost, now, ttl)).rental()
            except NoNumbers:
                pass  # the pool is out: upstreams may still sell this pair
        existing = _existing_order(order)
        if existing is not None:
            return existing
        return buying.buy(order, cost, catalog.upstream_offers().get((order.country, order.service), []), now, ttl)
    except IntegrityError:
        # Another request with the same orderId committed first: answer as it did.
        existing = _existing_order(order)
        if existing is None:
            raise
        return existing


@dataclass(frozen=True)
class _Bought:
    """What a purchase wrote; its Rental is built after the commit, outside the write lock."""
    rental_id: int | None
    values: dict
    existing: Rental | None = None

    def rental(self) -> Rental:
        if self.existing is not None:
            return self.existing
        rental = Rental(id=self.rental_id, **self.values)
        rental._dirty.clear()  # as read from the database
        return rental


def _buy_once(order: Order, catalog: Catalog, cost: int, now: int, ttl: int) -> _Bought:
    """Charge and lease, inside the write transaction db.retry_on_conflict gives each attempt."""
    if order.order_id is not None:
        existing = _existing_order(order)
        if existing is not None:
            return _Bought(existing.id, {}, existing)
    wallet.take(order.account_id, cost)
    lease = catalog.pool.acquire(order.service, order.country, order.wanted)
    if lease is None:
        raise NoNumbers()
    values = dict(
        account=order.account_id, api_key=order.key_id, service=order.service, country=order.country,
        number=lease.number_id, live_number=lease.number_id, phone=lease.phone, operator=lease.operator,
        cost=cost, state="waiting", order_id=order.order_id, provider=catalog.pool.name,
        created_at=now, state_at=now, expires_at=now + ttl,
    )
    rental_id = db.insert(Rental, **values)
    wallet.record_charge(order.account_id, rental_id, cost, now)
    return _Bought(rental_id, values)


def _existing_order(order: Order) -> Rental | None:
    """The rental already bought with this orderId; ORDER_ALREADY_EXISTS if its parameters differ."""
    if order.order_id is None:
        return None
    rental = Rental.get_or_none((Rental.account == order.account_id) & (Rental.order_id == order.order_id))
    if rental is None:
        return None
    if rental.service_id != order.service or rental.country_id != order.country:
        raise OrderAlreadyExists()
    if rental.state == "pending":
        raise NoNumbers()  # the first request is still buying upstream; ask again in a moment
    return rental
