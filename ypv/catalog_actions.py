"""The JSON catalog actions (and getActiveActivations, which answers JSON too).

Shapes and JSON types follow PROTOCOL.md exactly: clients with typed models
reject a string where a number is expected and vice versa.
"""

from ypv import params
from ypv.context import Ctx
from ypv.models import LIVE_STATES, Rental
from ypv.money import as_number, render
from ypv.reply import Reply, as_json, timestamp

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


def _priced(ctx: Ctx, country: int | None = None, service: str | None = None):
    """(country, service, cost) for every sold pair matching the filters, in id/code order."""
    for (c, s), cost in sorted(ctx.catalog.prices().items()):
        if (country is None or c == country) and (service is None or s == service):
            yield c, s, cost


def get_services_list(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    names = ctx.catalog.services()
    codes = names.keys() if country is None else {s for _, s, _ in _priced(ctx, country)}
    return as_json({"status": "success",
                    "services": [{"code": code, "name": names[code]} for code in sorted(codes)]})


def get_countries(ctx: Ctx, p: dict) -> Reply:
    return as_json({
        str(c.id): {"id": c.id, "rus": c.rus, "eng": c.eng, "chn": c.chn, "visible": int(c.visible),
                    "retry": 1, "rent": 0, "multiService": 0}
        for c in ctx.catalog.countries().values()
    })


def get_prices(ctx: Ctx, p: dict) -> Reply:
    service = _service_filter(ctx, p)
    country = _country_filter(ctx, p)
    result: dict = {}
    for c, s, cost in _priced(ctx, country, service):
        result.setdefault(str(c), {})[s] = {"cost": as_number(cost), "count": ctx.catalog.count(c, s)}
    return as_json(result)


def get_numbers_status(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    operators = params.operators(p)
    counts = dict.fromkeys(CLASSIC_STATUS_KEYS, 0)
    counts.update({f"{code}_0": 0 for code in ctx.catalog.services()})
    for c, s, _ in _priced(ctx, country):
        counts[f"{s}_0"] += ctx.catalog.count(c, s, operators)
    return as_json(counts)


def get_top_countries(ctx: Ctx, p: dict) -> Reply:
    service = _service_filter(ctx, p)
    best: dict = {}  # country -> [count, cheapest price]
    for c, s, cost in _priced(ctx, None, service):
        entry = best.setdefault(c, [0, cost])
        entry[0] += ctx.catalog.count(c, s)
        entry[1] = min(entry[1], cost)
    ranked = sorted(best.items(), key=lambda item: (-item[1][0], item[1][1], item[0]))
    return as_json({
        str(rank): {"country": c, "count": count, "price": as_number(cost), "retail_price": as_number(cost)}
        for rank, (c, (count, cost)) in enumerate(ranked)
    })


def get_operators(ctx: Ctx, p: dict) -> Reply:
    country = _country_filter(ctx, p)
    known = ctx.catalog.operators()
    ids = [country] if country is not None else sorted(known)
    return as_json({"status": "success", "countryOperators": {
        str(c): ["any"] + [o for o in known.get(c, []) if o != "any"] for c in ids
    }})


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
