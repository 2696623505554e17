"""Customer and operator accounts (the wallet lives on the account row)."""

import re

from peewee import IntegrityError

from ypv import db, key_cache, passwords, sessions
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


def check_login(email: str, password: str) -> Account | None:
    """The enabled account these credentials open, or None — in about the same time either way."""
    account = Account.get_or_none(Account.email == email.strip().lower())
    stored = account.password_hash if account else None
    if not passwords.verify_password(stored, password) or account.disabled:
        return None
    if passwords.needs_rehash(account.password_hash):
        set_password(account.id, password)
    return account


def set_password(account_id: int, password: str) -> None:
    """Store a new Argon2id hash; ValueError (a message for people) if the password is too weak."""
    Account.update(password_hash=passwords.hash_password(password)).where(Account.id == account_id).execute()


def set_disabled(account_id: int, disabled: bool) -> None:
    """Disable (keys stop on the next request, every session ends) or enable an account.

    Its own transaction: running servers forget every key once it commits (ypv/key_cache.py).
    """
    with key_cache.cache.changing_keys(), db.write_transaction():
        Account.update(disabled=disabled).where(Account.id == account_id).execute()
        if disabled:
            sessions.end_all(account_id)


def search(text: str, limit: int = 50) -> list[Account]:
    """Accounts whose e-mail contains ``text`` (all when empty), newest first."""
    query = Account.select().order_by(Account.id.desc()).limit(limit)
    text = text.strip().lower()
    if text:
        query = query.where(Account.email.contains(text))
    return list(query)
