"""Customer and operator accounts (the wallet lives on the account row)."""

import re

from peewee import IntegrityError

from ypv.errors import NotFound
from ypv.models import Account

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError(f"{email!r} is not an e-mail address")
    return email


def create_account(email: str, now: int, is_admin: bool = False, password_hash: str | None = None) -> Account:
    try:
        return Account.create(email=normalize_email(email), is_admin=is_admin, password_hash=password_hash,
                              created_at=now)
    except IntegrityError:
        raise ValueError(f"an account for {email.strip().lower()} already exists") from None


def find_account(email: str) -> Account:
    account = Account.get_or_none(Account.email == email.strip().lower())
    if account is None:
        raise NotFound(f"no account {email.strip().lower()!r}")
    return account
