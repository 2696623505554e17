"""The JSON catalog actions (and getActiveActivations, which answers JSON too).

Shapes and JSON types follow PROTOCOL.md exactly: clients with typed models
reject a string where a number is expected and vice versa.
"""

import json

from ypv import params
from ypv.context import Ctx
from ypv.models import LIVE_STATES, Rental
from ypv.money import as_number, render
from ypv.reply import RenderedJson, Reply, as_json, timestamp

# smsactivateru's getNumbersStatus wrapper reads each of these keys.
CLASSIC_STATUS_KEYS = (
    "vk_0 ok_0 wa_0 vi_0 tg_0 wb_0 go_0 av_0 av_1 fb_0 tw_0 ot_0 ot_1 ub_0 qw_0 gt_0 sn_0 ig_0 ss_0 "
    "ym_0 ym_1 ma_0 mm_0 uk_0 me_0 mb_0 we_0 bd_0 kp_0 dt_0 ya_0 ya_1 mt_0 oi_0 fd_0 zz_0 kt_0 pm_0 tn_0"
).split()


def _country_filter(ctx: Ctx, p: dict) -> int | None:
    """An optional country: None (every country) or a known id, else BAD_COUNTRY."""
    country = params.country(p, None)
    if country is not None:
        ctx.catalog.country(country)
    return country


def _service_filter(ctx: Ctx, p: dict) -> str | None:
    code = params.text(p, "service")
    return ctx.catalog.service(code) if code else None


def _cached_json(ctx: Ctx, key: tuple, build) -> Reply:
    """The serialized answer ``build()`` gives, reused until the catalog data it read is re-read."""
    return RenderedJson(ctx.catalog.derived(key, lambda: as_json(build()).render()[1].encode("utf-8")))


def _priced(ctx: Ctx, country: int | None = None, service: str | None = None):
    """(country, service, cost) for every sold pair matching the filters, in id/code order."""
    prices = ctx.catalog.prices()
    for c, s in sorted(prices):  # the keys, not the items: no 30,000 new (pair, cost) tuples per build
        if (country is None or c == country) and (service is None or s == service):
            yield c, s, prices[(c, s)]


def get_services_list(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    return _cached_json(ctx, ("getServicesList", country), lambda: _services_list(ctx, country))


def _services_list(ctx: Ctx, country: int | None) -> dict:
    names = ctx.catalog.services()
    codes = names.keys() if country is None else {s for _, s, _ in _priced(ctx, country)}
    return {"status": "success", "services": [{"code": code, "name": names[code]} for code in sorted(codes)]}


def get_countries(ctx: Ctx, p: dict) -> Reply:
    return _cached_json(ctx, ("getCountries",), lambda: {
        str(c.id): {"id": c.id, "rus": c.rus, "eng": c.eng, "chn": c.chn, "visible": int(c.visible),
                    "retry": 1, "rent": 0, "multiService": 0}
        for c in ctx.catalog.countries().values()
    })


def get_prices(ctx: Ctx, p: dict) -> Reply:
    service = _service_filter(ctx, p)
    country = _country_filter(ctx, p)
    key = ("getPrices", service, country)
    return RenderedJson(ctx.catalog.derived(key, lambda: prices_json(ctx, service, country).encode("utf-8")))


def prices_json(ctx: Ctx, service: str | None, country: int | None) -> str:
    """``{"<country>":{"<service>":{"cost":15.5,"count":123}}}``, written out directly.

    The same bytes ``json.dumps`` makes of the nested dicts (floats by repr, names
    escaped by json.dumps itself), in a third of the time: a full catalog is
    30,000 entries, rebuilt on every stock refresh. tests/test_catalog_cache.py
    compares the two.
    """
    counts, names, countries, items, current = ctx.catalog.counts(), {}, [], [], None
    for c, s, cost in _priced(ctx, country, service):  # in country order: each country is joined
        if c != current:                               # as soon as it is complete, so the entries
            _close_country(countries, current, items)  # of only one are held at a time
            current, items = c, []
        name = names.get(s) or names.setdefault(s, json.dumps(s, ensure_ascii=False))
        items.append(f'{name}:{{"cost":{as_number(cost)!r},"count":{counts[(c, s)]:d}}}')
    _close_country(countries, current, items)
    return "{" + ",".join(countries) + "}"


def _close_country(countries: list, country: int | None, items: list) -> None:
    if items:
        countries.append(f'"{country}":{{{",".join(items)}}}')


def get_numbers_status(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    operators = params.operators(p)
    return _cached_json(ctx, ("getNumbersStatus", country, operators),
                        lambda: _numbers_status(ctx, country, operators))


def _numbers_status(ctx: Ctx, country: int | None, operators: tuple) -> dict:
    counts = dict.fromkeys(CLASSIC_STATUS_KEYS, 0)
    counts.update({f"{code}_0": 0 for code in ctx.catalog.services()})
    stock = ctx.catalog.counts(operators)
    for c, s, _ in _priced(ctx, country):
        counts[f"{s}_0"] += stock[(c, s)]
    return counts


def get_top_countries(ctx: Ctx, p: dict) -> Reply:
    service = _service_filter(ctx, p)
    return _cached_json(ctx, ("getTopCountriesByService", service), lambda: _top_countries(ctx, service))


def _top_countries(ctx: Ctx, service: str | None) -> dict:
    best: dict = {}  # country -> [count, cheapest price]
    counts = ctx.catalog.counts()
    for c, s, cost in _priced(ctx, None, service):
        entry = best.setdefault(c, [0, cost])
        entry[0] += counts[(c, s)]
        entry[1] = min(entry[1], cost)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
    return {
        str(rank): {"country": c, "count": count, "price": as_number(cost), "retail_price": as_number(cost)}
        for rank, (c, (count, cost)) in enumerate(ranked)
    }


def get_operators(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    return _cached_json(ctx, ("getOperators", country), lambda: _operators(ctx, country))


def _operators(ctx: Ctx, country: int | None) -> dict:
    known = ctx.catalog.operators()
    ids = [country] if country is not None else sorted(known)
    return {"status": "success", "countryOperators": {
        str(c): ["any"] + [o for o in known.get(c, []) if o != "any"] for c in ids
    }}


def get_active_activations(ctx: Ctx, p: dict) -> Reply:
    live = (Rental.select().where((Rental.account == ctx.account_id) & Rental.state.in_(LIVE_STATES))
            .order_by(Rental.id))
    countries = ctx.catalog.countries()
    return as_json({"status": "success", "activeActivations": [_activation(r, countries) for r in live]})


def _activation(rental: Rental, countries: dict) -> dict:
    """One item in SMS-Activate's getActiveActivations shape (its values are strings)."""
    country = countries.get(rental.country_id)
    return {
        "activationId": str(rental.id),
        "serviceCode": rental.service_id,
        "phoneNumber": rental.phone,
        "activationCost": render(rental.cost),
        "activationStatus": {"waiting": "1", "code": "2", "retry": "3"}[rental.state],
        "smsCode": [rental.code] if rental.code else None,
        "smsText": rental.sms_text,
        "activationTime": timestamp(rental.created_at),
        "discount": "0.00",
        "repeated": "0",
        "countryCode": str(rental.country_id),
        "countryName": country.eng if country else "",
        "canGetAnotherSms": "1",
    }
