"""Sales, upstream spend and margin per day and upstream (``ypv upstream report``).

A rental counts once it was delivered and not refunded: the customer paid ``cost``,
the upstream charged ``upstream_cost``. Cancelled rentals are refunded on both sides.
"""

from datetime import datetime, timezone

from ypv.models import Rental, Upstream
from ypv.upstream.buying import provider_name

SOLD = ("waiting", "code", "retry", "finished")


def daily(since: int) -> list[dict]:
    names = {provider_name(u.id): u.name for u in Upstream.select(Upstream.id, Upstream.name)}
    rows: dict = {}
    query = (Rental.select(Rental.provider, Rental.created_at, Rental.cost, Rental.upstream_cost)
             .where(Rental.provider.startswith("upstream:") & Rental.state.in_(SOLD)
                    & (Rental.created_at >= since)).tuples())
    for provider, created_at, cost, upstream_cost in query:
        day = datetime.fromtimestamp(created_at, tz=timezone.utc).strftime("%Y-%m-%d")
        row = rows.setdefault((day, names.get(provider, provider)), {"sales": 0, "count": 0, "spend": 0})
        row["count"] += 1
        row["sales"] += cost
        row["spend"] += upstream_cost or 0
    return [{"day": day, "upstream": name, **row, "margin": row["sales"] - row["spend"]}
            for (day, name), row in sorted(rows.items())]
