"""Wallet and activation actions: one small function per action, ``(ctx, params) -> Reply``.

The table at the bottom (``ACTIONS``) maps each action name to its function and
the scopes that allow it; the handler resource does the rest.
"""

from ypv import catalog_actions, params, rentals, wallet
from ypv.context import Ctx
from ypv.models import Rental
from ypv.money import as_number, render
from ypv.providers import NumberFilter
from ypv.purchase import Order, buy
from ypv.reply import Reply, as_json, text, timestamp
from ypv.upstream import tracking


def get_balance(ctx: Ctx, p: dict) -> Reply:
    balance = ctx.balance_read if ctx.balance_read is not None else wallet.balance(ctx.account_id)
    return text(f"ACCESS_BALANCE:{render(balance)}")


def _order(ctx: Ctx, p: dict) -> Rental:
    order = Order(
        account_id=ctx.account_id,
        key_id=ctx.key.id,
        service=params.service(p),
        country=params.country(p, ctx.config.default_country),
        wanted=NumberFilter(operators=params.operators(p), exclude_prefixes=params.phone_exceptions(p)),
        max_price=params.max_price(p),
        order_id=params.order_id(p),
    )
    return buy(order, ctx.catalog, ctx.now, ctx.config.rental_ttl_seconds)


def get_number(ctx: Ctx, p: dict) -> Reply:
    rental = _order(ctx, p)
    return text(f"ACCESS_NUMBER:{rental.id}:{rental.phone}")


def get_number_v2(ctx: Ctx, p: dict) -> Reply:
    rental = _order(ctx, p)
    return as_json({
        "activationId": rental.id,
        "phoneNumber": rental.phone,
        "activationCost": as_number(rental.cost),
        "currency": ctx.config.currency_code,
        "countryCode": str(rental.country_id),
        "countryPhoneCode": ctx.catalog.country(rental.country_id).phone_code,
        "canGetAnotherSms": True,
        "activationTime": timestamp(rental.created_at),
        "activationEndTime": timestamp(rental.expires_at),
        "activationOperator": rental.operator,
    })


def _rental(ctx: Ctx, p: dict) -> Rental:
    rental = rentals.current(ctx.account_id, params.activation_id(p), ctx.now)
    if tracking.refresh(rental, ctx.now, ctx.config.upstream_poll_seconds):
        rental = rentals.get_rental(ctx.account_id, rental.id)
    return rental


STATUS_TOKENS = {
    "waiting": "STATUS_WAIT_CODE",
    "code": "STATUS_OK:{code}",
    "retry": "STATUS_WAIT_RETRY:{code}",
    "finished": "STATUS_OK:{code}",
    "cancelled": "STATUS_CANCEL",
}


def get_status(ctx: Ctx, p: dict) -> Reply:
    rental = _rental(ctx, p)
    return text(STATUS_TOKENS[rental.state].format(code=rental.code))


def get_status_v2(ctx: Ctx, p: dict) -> Reply:
    rental = _rental(ctx, p)
    if rental.state == "cancelled":
        return text("STATUS_CANCEL")
    sms = None
    if rental.code is not None:
        sms = {"dateTime": timestamp(rental.sms_at), "code": rental.code, "text": rental.sms_text}
    return as_json({"verificationType": 0, "sms": sms, "call": None})


def get_full_sms(ctx: Ctx, p: dict) -> Reply:
    rental = _rental(ctx, p)
    if rental.state == "cancelled":
        return text("STATUS_CANCEL")
    if rental.sms_text is None:
        return text("STATUS_WAIT_CODE")
    return text(f"FULL_SMS:{rental.sms_text}")


def set_status(ctx: Ctx, p: dict) -> Reply:
    rental = _rental(ctx, p)
    set_status_of = tracking.set_status if rental.provider != "pool" else rentals.set_status
    token = set_status_of(rental, params.text(p, "status"), ctx.now, ctx.config.early_cancel_seconds)
    return text(token)


BALANCE, PRICES, PURCHASE, CANCEL = "balance", "prices", "purchase", "cancel"
READ_ACTIVATION = frozenset({PURCHASE, CANCEL})

# action name -> (function, scopes any one of which allows it, errors rendered as JSON)
ACTIONS = {
    "getBalance": (get_balance, frozenset({BALANCE}), False),
    "getBalanceAndCashBack": (get_balance, frozenset({BALANCE}), False),
    "getNumber": (get_number, frozenset({PURCHASE}), False),
    "getNumberV2": (get_number_v2, frozenset({PURCHASE}), False),
    "getStatus": (get_status, READ_ACTIVATION, False),
    "getStatusV2": (get_status_v2, READ_ACTIVATION, False),
    "getFullSms": (get_full_sms, READ_ACTIVATION, False),
    "setStatus": (set_status, frozenset({CANCEL}), False),
    "getActiveActivations": (catalog_actions.get_active_activations, READ_ACTIVATION, True),
    "getServicesList": (catalog_actions.get_services_list, frozenset({PRICES}), True),
    "getCountries": (catalog_actions.get_countries, frozenset({PRICES}), True),
    "getPrices": (catalog_actions.get_prices, frozenset({PRICES}), True),
    "getNumbersStatus": (catalog_actions.get_numbers_status, frozenset({PRICES}), True),
    "getTopCountriesByService": (catalog_actions.get_top_countries, frozenset({PRICES}), True),
    "getOperators": (catalog_actions.get_operators, frozenset({PRICES}), True),
}

JSON_ACTIONS = frozenset(name for name, (_, _, is_json) in ACTIONS.items() if is_json)
