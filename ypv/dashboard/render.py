"""Jinja2 for the dashboard: autoescaped templates from the package, and display filters."""

import datetime

from ypv.money import render as render_money

KEY_STATUS = {"active": "Active", "pending": "Pending approval", "denied": "Denied", "revoked": "Revoked"}
RENTAL_STATE = {"waiting": "Waiting for SMS", "code": "Code received", "retry": "Waiting for another code",
                "finished": "Finished", "cancelled": "Cancelled"}
LEDGER_KIND = {"topup": "Top-up", "adjust": "Adjustment", "charge": "Number rental", "refund": "Refund"}


def environment(currency: str):
    """A jinja2.Environment (imported here, on the first page: see Site.templates)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(loader=PackageLoader("ypv.dashboard", "templates"), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(money=lambda minor: f"{render_money(minor)} {currency}", signed=signed_money,
                       when=when, left=time_left)
    env.globals.update(KEY_STATUS=KEY_STATUS, RENTAL_STATE=RENTAL_STATE, LEDGER_KIND=LEDGER_KIND,
                       currency=currency)
    return env


def signed_money(minor: int) -> str:
    return ("+" if minor > 0 else "") + render_money(minor)


def when(seconds: int | None) -> str:
    """Unix seconds as '2026-09-21 14:05 UTC' (the service keeps UTC everywhere)."""
    if seconds is None:
        return "never"
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def time_left(seconds: int) -> str:
    """Remaining lifetime of a rental: '19 min 05 s', '45 s', 'expired'."""
    if seconds <= 0:
        return "expired"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"
