"""Catalog sync: countries, services, prices and stock from each upstream.

Runs on a schedule inside the service and on ``ypv upstream sync``. Countries and
services the operator already has keep their names; new ones are added. An
upstream's price list is replaced as a whole, so a pair it stopped selling
disappears from its offers.
"""

import logging
import time

from ypv import db
from ypv.demo import load_catalog
from ypv.models import Country, Service, Upstream, UpstreamPrice
from ypv.upstream import registry
from ypv.upstream.client import UpstreamFailure

log = logging.getLogger(__name__)


def sync(upstream: Upstream, now: int | None = None) -> dict:
    """Pull one upstream's catalog; returns counts. Failures alert and re-raise."""
    now = int(time.time()) if now is None else now
    api = registry.client(upstream)
    try:
        balance = _balance(api.call("getBalance").body)
        countries = api.call("getCountries").json()
        services = _services(api)
        prices = _prices(api.call("getPrices").json())
    except (UpstreamFailure, ValueError) as exc:
        registry.alert(upstream, "sync", getattr(exc, "reason", str(exc)), now)
        raise
    with db.write_transaction():
        _add_countries(countries)
        known_services = _add_services(services, {s for (_, s) in prices})
        UpstreamPrice.delete().where(UpstreamPrice.upstream == upstream.id).execute()
        known_countries = {c for (c,) in Country.select(Country.id).tuples()}
        rows = [{"upstream": upstream.id, "country": c, "service": s, "cost": cost, "stock": stock}
                for (c, s), (cost, stock) in prices.items() if c in known_countries and s in known_services]
        for start in range(0, len(rows), 500):
            UpstreamPrice.insert_many(rows[start:start + 500]).execute()
        Upstream.update(balance=balance, synced_at=now, status="ok").where(Upstream.id == upstream.id).execute()
    log.info("upstream %s synced: %d prices", upstream.name, len(rows))
    return {"prices": len(rows), "balance": balance}


def _balance(body: str) -> int:
    if not body.startswith("ACCESS_BALANCE:"):
        raise ValueError("getBalance answered something else")
    amount = body.split(":", 1)[1]
    return 0 if amount.strip("0.") == "" else registry.to_minor(amount)


def _services(api) -> dict:
    """{code: name}; providers without getServicesList just give codes (named after themselves)."""
    try:
        data = api.call("getServicesList").json()
    except UpstreamFailure:
        return {}
    items = data.get("services", []) if isinstance(data, dict) else []
    return {str(i["code"]): str(i.get("name") or i["code"]) for i in items if isinstance(i, dict) and i.get("code")}


def _prices(data) -> dict:
    """{(country, service): (cost in minor units, stock)} from getPrices' nested object."""
    if not isinstance(data, dict):
        raise ValueError("getPrices is not an object")
    prices = {}
    for country, by_service in data.items():
        if not str(country).isdigit() or not isinstance(by_service, dict):
            continue
        for service, offer in by_service.items():
            try:
                prices[(int(country), str(service))] = (registry.to_minor(offer["cost"]), int(offer.get("count", 0)))
            except (KeyError, TypeError, ValueError):
                continue  # one malformed entry must not hide the rest
    return prices


def _add_countries(countries) -> None:
    """Add countries we do not know yet. getCountries carries no calling code, so it comes
    from the bundled list of SMS-Activate countries (0 when the id is not in it)."""
    if not isinstance(countries, dict):
        return
    calling_codes = {c["id"]: c["phone_code"] for c in load_catalog()["countries"]}
    for item in countries.values():
        if not isinstance(item, dict) or not str(item.get("id", "")).isdigit():
            continue
        eng = str(item.get("eng") or item.get("id"))
        Country.insert(id=int(item["id"]), eng=eng, rus=str(item.get("rus") or eng), chn=str(item.get("chn") or eng),
                       phone_code=calling_codes.get(int(item["id"]), 0),
                       visible=bool(item.get("visible", 1))).on_conflict_ignore().execute()


def _add_services(named: dict, sold: set) -> set:
    for code in sold | set(named):
        Service.insert(code=code, name=named.get(code, code)).on_conflict_ignore().execute()
    return {c for (c,) in Service.select(Service.code).tuples()}


def sync_all(now: int | None = None) -> dict:
    """Sync every upstream; one failing upstream does not stop the others."""
    results = {}
    for upstream in registry.by_priority():
        try:
            results[upstream.name] = sync(upstream, now)
        except (UpstreamFailure, ValueError) as exc:
            results[upstream.name] = {"error": getattr(exc, "reason", str(exc))}
    return results
