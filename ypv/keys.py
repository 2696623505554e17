"""API keys: generation, hashing, scopes, issue/revoke and authentication.

A key is ``ypv_`` + 64 hex characters from ``secrets``. The first 16 characters
are the prefix people see; only the SHA-256 of the whole key is stored. The
plaintext is returned once, to the caller that issued it, and never stored.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass

from ypv import db
from ypv.errors import BadKey, NotFound
from ypv.models import Account, ApiKey

KEY_PATTERN = re.compile(r"^ypv_[0-9a-f]{64}$")
PREFIX_LENGTH = 16
SCOPES = ("balance", "prices", "purchase", "cancel")


@dataclass(frozen=True)
class AuthedKey:
    """What a request knows about its caller after authentication."""

    id: int
    account_id: int
    prefix: str
    scopes: frozenset
    rate_limit: int
    last_used_at: int | None


def generate_key() -> str:
    return "ypv_" + secrets.token_hex(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def key_prefix(key: str) -> str:
    return key[:PREFIX_LENGTH]


def parse_scopes(text: str) -> str:
    """'balance, prices' -> 'balance,prices' (canonical order); ValueError on unknown scopes."""
    wanted = {s.strip() for s in text.split(",") if s.strip()}
    unknown = wanted - set(SCOPES)
    if unknown or not wanted:
        raise ValueError(f"scopes must be a comma-separated subset of {','.join(SCOPES)}")
    return ",".join(s for s in SCOPES if s in wanted)


def issue_key(account: Account, scopes: str, rate_limit: int, now: int, label: str = "") -> tuple[ApiKey, str]:
    """Create an active key and return it with its plaintext (the only time it exists)."""
    plaintext = generate_key()
    row = ApiKey.create(
        account=account, prefix=key_prefix(plaintext), key_hash=hash_key(plaintext),
        label=label, scopes=parse_scopes(scopes), rate_limit=rate_limit, status="active",
        created_at=now, decided_at=now,
    )
    return row, plaintext


def revoke_key(prefix: str, now: int) -> int:
    """Revoke every active key with this prefix (or id); returns how many were revoked."""
    query = ApiKey.update(status="revoked", decided_at=now).where(ApiKey.status == "active")
    if prefix.isdigit():
        query = query.where(ApiKey.id == int(prefix))
    else:
        query = query.where(ApiKey.prefix == prefix)
    count = query.execute()
    if count == 0:
        raise NotFound(f"no active key {prefix!r}")
    return count


def authenticate(key: str | None) -> AuthedKey:
    """Resolve a plaintext key to its active row, or raise BadKey.

    No cache: revocation (from the CLI, the dashboard or another process) must
    take effect on the very next request, and this is one indexed lookup.
    """
    if not key or not KEY_PATTERN.match(key):
        raise BadKey()
    row = (
        ApiKey.select(ApiKey.id, ApiKey.account, ApiKey.prefix, ApiKey.scopes, ApiKey.rate_limit,
                      ApiKey.last_used_at)
        .join(Account)
        .where((ApiKey.key_hash == hash_key(key)) & (ApiKey.status == "active") & (Account.disabled == False))  # noqa: E712
        .tuples()
        .first()
    )
    if row is None:
        raise BadKey()
    key_id, account_id, prefix, scopes, rate_limit, last_used_at = row
    return AuthedKey(key_id, account_id, prefix, frozenset(scopes.split(",")), rate_limit, last_used_at)


def touch(key: AuthedKey, now: int, every: int = 60) -> None:
    """Record last use, at most once a minute per key so reads stay reads."""
    if key.last_used_at is None or now - key.last_used_at >= every:
        with db.write_transaction():
            ApiKey.update(last_used_at=now).where(ApiKey.id == key.id).execute()
