"""What upstreams offer, merged into the catalog customers see.

For a service × country the customer's price is the operator's own price when
one is set (``ypv price set``: the local pool's price, and an override of any
markup); otherwise the marked-up price of the first upstream, by priority, that
has stock (or of the first one at all when none has). Stock is the pool's free
numbers plus every upstream's count.
"""

from dataclasses import dataclass

from ypv.models import Upstream, UpstreamPrice
from ypv.upstream.registry import sell_price


@dataclass(frozen=True)
class Offer:
    upstream_id: int
    price: int          # what the customer pays us, markup included
    cost: int           # what the upstream charges us
    stock: int


def load() -> dict:
    """{(country, service): [Offer, …] by upstream priority}."""
    rows = (UpstreamPrice.select(UpstreamPrice.country, UpstreamPrice.service, UpstreamPrice.cost,
                                 UpstreamPrice.stock, Upstream.id, Upstream.markup_bp, Upstream.markup_fixed)
            .join(Upstream).order_by(Upstream.priority, Upstream.id).tuples())
    offers: dict = {}
    for country, service, cost, stock, upstream_id, bp, fixed in rows:
        offers.setdefault((country, service), []).append(
            Offer(upstream_id, sell_price(cost, bp, fixed), cost, stock))
    return offers


def merged_prices(local: dict, offers: dict) -> dict:
    """{(country, service): customer price}: local/override prices win, then upstream offers."""
    if not offers:
        return local  # no upstream: the same table, not a 30,000-entry copy of it (nobody mutates either)
    merged = dict(local)
    for pair, candidates in offers.items():
        if pair not in merged:
            merged[pair] = next((o for o in candidates if o.stock > 0), candidates[0]).price
    return merged


def upstream_stock(offers: dict, country: int, service: str) -> int:
    return sum(o.stock for o in offers.get((country, service), ()))
