"""Demo mode: a real SMS-Activate-shaped catalog, fake numbers, a funded account and a key.

Safe to run again: the catalog is upserted, existing numbers and the account are
kept, and a fresh key is issued each time (the old ones keep working).
"""

import json
from importlib import resources

from ypv import db, keys, wallet
from ypv.accounts import create_account
from ypv.catalog import import_catalog
from ypv.models import Account, Price
from ypv.numbers import add_numbers

DEMO_EMAIL = "demo@ypv.local"
DEMO_BALANCE = 100_000  # 1000.00
NUMBERS_PER_COUNTRY = 30
RUSSIAN_OPERATORS = ("beeline", "megafon", "mts", "tele2")


def load_catalog() -> dict:
    return json.loads(resources.files("ypv").joinpath("data/demo_catalog.json").read_text(encoding="utf-8"))


def fake_numbers(data: dict, per_country: int = NUMBERS_PER_COUNTRY) -> list[dict]:
    """Deterministic, unique phones: calling code + '5' + country id + serial, padded to length."""
    sold = {p["country"] for p in data["prices"]}
    rows = []
    for country in data["countries"]:
        if country["id"] not in sold:
            continue
        for i in range(per_country):
            nsn = f"{country['id']:03d}{i:04d}".rjust(max(country.get("nsn_length", 10), 8), "5")
            operator = RUSSIAN_OPERATORS[i % 4] if country["id"] == 0 else "any"
            rows.append({"phone": f"{country['phone_code']}{nsn}", "country": country["id"], "operator": operator})
    return rows


def run_demo(now: int, rate_limit: int = 600) -> dict:
    data = load_catalog()
    import_catalog(data)
    added = add_numbers(fake_numbers(data), now)
    with db.write_transaction():
        account = Account.get_or_none(Account.email == DEMO_EMAIL)
        if account is None:
            account = create_account(DEMO_EMAIL, now)
            wallet.credit(account.id, DEMO_BALANCE, "topup", now, note="demo balance")
        _, key = keys.issue_key(account, ",".join(keys.SCOPES), rate_limit, now, label="demo")
    return {"key": key, "email": DEMO_EMAIL, "numbers_added": added,
            "prices": Price.select().count(), "balance": wallet.balance(account.id)}
