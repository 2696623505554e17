"""The local number pool: SIMs the operator owns, stored in the ``number`` table.

Free means: active, not in a live rental (``rental.live_number_id`` is unique,
so the schema forbids a second live rental), and never rented for this service
before (``rental`` is unique on number_id + service_code).
"""

from peewee import JOIN, fn

from ypv import db
from ypv.models import Number, Rental
from ypv.providers import Lease, NumberFilter


class LocalPool:
    name = "pool"

    def acquire(self, service: str, country: int, wanted: NumberFilter) -> Lease | None:
        """Pick a free number inside the caller's write transaction, or None."""
        query = self._free(country, wanted).where(~fn.EXISTS(
            Rental.select(1).where((Rental.number == Number.id) & (Rental.service == service))
        ))
        query = query.select(Number.id, Number.phone, Number.operator).order_by(Number.id).limit(1)
        if db.is_postgresql():
            query = query.for_update(of=Number, skip_locked=True)
        row = query.tuples().first()
        return Lease(*row) if row else None

    def stock(self, operators: tuple = ()) -> dict:
        """{(country_id, service_code): free numbers} for every pair with any rental history,
        plus {(country_id, None): free numbers} per country."""
        wanted = NumberFilter(operators=operators)
        free = dict(self._free(None, wanted).select(Number.country, fn.COUNT(Number.id))
                    .group_by(Number.country).tuples())
        used = (
            self._free(None, wanted)
            .select(Number.country, Rental.service, fn.COUNT(Rental.id))
            .join(Rental, on=(Rental.number == Number.id))
            .group_by(Number.country, Rental.service)
            .tuples()
        )
        stock = {(country, None): count for country, count in free.items()}
        for country, service, count in used:
            stock[(country, service)] = free.get(country, 0) - count
        return stock

    @staticmethod
    def _free(country: int | None, wanted: NumberFilter):
        live = Rental.alias("live")
        query = (
            Number.select()
            .join(live, JOIN.LEFT_OUTER, on=(live.live_number == Number.id))
            .where(Number.active & live.id.is_null())
        )
        if country is not None:
            query = query.where(Number.country == country)
        if wanted.operators:
            query = query.where(Number.operator.in_(wanted.operators))
        for prefix in wanted.exclude_prefixes:
            query = query.where(~Number.phone.startswith(prefix))
        return query


def stock_for(stock: dict, country: int, service: str) -> int:
    """Read one pair out of ``LocalPool.stock``'s result."""
    return max(0, stock.get((country, service), stock.get((country, None), 0)))
