"""API keys: generation, hashing, scopes, issue/revoke and authentication.

A key is ``ypv_`` + 64 hex characters from ``secrets``. The first 16 characters
are the prefix people see; only the SHA-256 of the whole key is stored. The
plaintext is returned once, to the caller that issued it, and never stored.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass, replace

from ypv import db, key_usage
from ypv.errors import BadKey, NotFound
from ypv.key_cache import cache
from ypv.models import Account, ApiKey

KEY_PATTERN = re.compile(r"^ypv_[0-9a-f]{64}$")
PREFIX_LENGTH = 16
SCOPES = ("balance", "prices", "purchase", "cancel")


@dataclass(frozen=True, slots=True)
class AuthedKey:
    """What a request knows about its caller after authentication (kept in ypv/key_cache.py)."""

    id: int
    account_id: int
    prefix: str
    scopes: frozenset
    rate_limit: int
    last_used_at: int | None
    key_hash: str


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


def revoke_key(prefix: str, now: int, account_id: int | None = None) -> int:
    """Revoke every active key with this prefix (or id); returns how many were revoked.

    With ``account_id`` (the dashboard) only that account's keys can match, so a
    customer naming someone else's key gets the same NotFound as for no key at all.
    Its own transaction: running servers forget every key once it commits.
    """
    with cache.changing_keys(), db.write_transaction():
        return _revoke(prefix, now, account_id)


def _revoke(prefix: str, now: int, account_id: int | None) -> int:
    query = ApiKey.update(status="revoked", decided_at=now).where(ApiKey.status == "active")
    if account_id is not None:
        query = query.where(ApiKey.account == account_id)
    if prefix.isdigit():
        query = query.where(ApiKey.id == int(prefix))
    else:
        query = query.where(ApiKey.prefix == prefix)
    count = query.execute()
    if count == 0:
        raise NotFound(f"no active key {prefix!r}")
    return count


# One indexed lookup, written out rather than built by Peewee on every request:
# building it is most of the cost of auth. {p} is the driver's placeholder.
# What makes a key work, for the request's lookup and the sweeper's re-read alike.
_WORKING_KEYS = "FROM api_key k JOIN account a ON a.id = k.account_id WHERE k.status = 'active' AND NOT a.disabled"
_KEY_FIELDS = "k.id, k.account_id, k.prefix, k.scopes, k.rate_limit, k.last_used_at"
_AUTH_SQL = f"SELECT {_KEY_FIELDS}, a.balance {_WORKING_KEYS} AND k.key_hash = {{p}}"
_scope_sets: dict[str, frozenset] = {}  # 'balance,prices' -> one shared frozenset (15 possible)


def authenticate(key: str | None) -> AuthedKey:
    """Resolve a plaintext key to its active row, or raise BadKey.

    Remembered between requests (ypv/key_cache.py) only under the rule that makes a
    revocation, from any process on the box, take effect on the very next request.
    Unknown keys are never remembered: a new key works at once, and guesses cost no memory.
    """
    key_hash = checked_hash(key)
    authed, read_under = remembered(key_hash)
    return authed if authed is not None else look_up(key_hash, read_under)[0]


def checked_hash(key: str | None) -> str:
    """The key's SHA-256, or BadKey for anything not shaped like a key."""
    if not key or not KEY_PATTERN.match(key):
        raise BadKey()
    return hash_key(key)


def remembered(key_hash: str) -> tuple[AuthedKey | None, bytes | None]:
    """(the key as the cache holds it, or None; what a lookup must be stored under).
    The handler asks this first: a remembered key needs no database connection."""
    return cache.get(key_hash)


def look_up(key_hash: str, read_under: bytes | None) -> tuple[AuthedKey, int]:
    """(the active key with this hash, its account's balance now) from the database (inside a
    connection), or BadKey. The balance comes with the key so a getBalance whose key was not
    remembered costs one query, not two (on PostgreSQL each is a round trip)."""
    row = db.fetchone(_AUTH_SQL, (key_hash,))
    if row is None:
        raise BadKey()
    authed = _authed(key_hash, *row[:6])
    cache.put(key_hash, authed, read_under)
    return authed, row[6]


def _authed(key_hash: str, key_id, account_id, prefix, scopes, rate_limit, last_used_at) -> AuthedKey:
    scope_set = _scope_sets.get(scopes) or _scope_sets.setdefault(scopes, frozenset(scopes.split(",")))
    return AuthedKey(key_id, account_id, prefix, scope_set, rate_limit, last_used_at, key_hash)


# Every chunk is padded to the same length, so this is one statement text: SQLite keeps a
# prepared statement per text on each connection, and a text per remainder length would add
# one (tens of KiB) on every pass that remembers a different number of keys.
_REFRESH_CHUNK = 100  # hashes per query
_REFRESH_SQL = (f"SELECT k.key_hash, {_KEY_FIELDS} {_WORKING_KEYS} "
                f"AND k.key_hash IN ({', '.join(['{p}'] * _REFRESH_CHUNK)})")


def look_up_many(remembered: dict) -> dict:
    """{hash: AuthedKey} for the remembered keys (hash -> AuthedKey) still active (inside a connection).

    A key whose row says what is remembered comes back as the same object, so re-reading
    10,000 keys allocates next to nothing that stays: replacing live objects every pass
    would leave the worker's heap full of holes.
    """
    hashes, found = list(remembered), {}
    for start in range(0, len(hashes), _REFRESH_CHUNK):
        chunk = db.padded(hashes[start:start + _REFRESH_CHUNK], (_REFRESH_CHUNK,))
        for key_hash, *fields in db.database.execute_sql(db.placeholders(_REFRESH_SQL), chunk):
            old = remembered[key_hash]
            found[key_hash] = old if _unchanged(old, *fields) else _authed(old.key_hash, *fields)
    return found


def _unchanged(old: AuthedKey, key_id, account_id, prefix, scopes, rate_limit, last_used_at) -> bool:
    """The row says what ``old`` says; a newer last use in memory (not yet written) counts as the same."""
    return ((old.id, old.account_id, old.rate_limit) == (key_id, account_id, rate_limit)
            and old.scopes is _scope_sets.get(scopes)
            and (last_used_at is None or (old.last_used_at or 0) >= last_used_at))


def refresh_remembered() -> int | None:
    """The sweeper's tick: re-read the remembered keys when it is time (ypv/key_cache.py)."""
    return cache.refresh_if_due(look_up_many)


def touch(key: AuthedKey, now: int) -> None:
    """Record last use: at once the first time, then at most once a minute, in batches."""
    if key_usage.usage.note(key.id, key.last_used_at, now):
        cache.replace(key, replace(key, last_used_at=now))  # or every request would note it again


# --- requests: a customer asks, an operator approves (the key is mailed once) or denies ----

MAX_LABEL = 60


def request_key(account_id: int, label: str, scopes: str, rate_limit: int, now: int) -> ApiKey:
    """A pending request: no secret exists until an operator approves it."""
    label = " ".join(label.split())
    if len(label) > MAX_LABEL:
        raise ValueError(f"Keep the label to {MAX_LABEL} characters or fewer.")
    return ApiKey.create(account=account_id, label=label, scopes=parse_scopes(scopes), rate_limit=rate_limit,
                         status="pending", created_at=now)


def pending_requests() -> list[ApiKey]:
    """Oldest first: the queue an operator works through."""
    return list(ApiKey.select(ApiKey, Account).join(Account).where(ApiKey.status == "pending")
                .order_by(ApiKey.id))


def keys_of(account_id: int) -> list[ApiKey]:
    """Every key and request of one account, newest first."""
    return list(ApiKey.select().where(ApiKey.account == account_id).order_by(ApiKey.id.desc()))


def approve_request(key_id: int, scopes: str, rate_limit: int, now: int, deliver) -> ApiKey:
    """Activate a pending request and hand its new key to ``deliver(email, row, plaintext)``.

    ``deliver`` (the e-mail) runs inside the write transaction: if it raises, the
    approval rolls back and no key exists that nobody received. The opposite failure
    (mail accepted, then the commit fails) leaves a key that never worked — the safe
    side. On SQLite the write lock is held while the SMTP server answers (bounded by
    the mailer's timeout); approvals are rare, so other writers just wait briefly.
    """
    if rate_limit < 1:
        raise ValueError("The limit must be at least 1 request per minute.")
    scopes = parse_scopes(scopes)
    plaintext = generate_key()
    with db.write_transaction():
        changed = (ApiKey.update(status="active", prefix=key_prefix(plaintext), key_hash=hash_key(plaintext),
                                 scopes=scopes, rate_limit=rate_limit, decided_at=now)
                   .where((ApiKey.id == key_id) & (ApiKey.status == "pending")).execute())
        if changed != 1:
            raise NotFound(f"no pending key request {key_id}")
        row = ApiKey.select(ApiKey, Account).join(Account).where(ApiKey.id == key_id).get()
        deliver(row.account.email, row, plaintext)
    return row


def deny_request(key_id: int, reason: str, now: int) -> ApiKey:
    """Deny a pending request; the customer sees ``reason`` next to it."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValueError("Give a reason: the customer will see it.")
    with db.write_transaction():
        changed = (ApiKey.update(status="denied", note=reason[:500], decided_at=now)
                   .where((ApiKey.id == key_id) & (ApiKey.status == "pending")).execute())
        if changed != 1:
            raise NotFound(f"no pending key request {key_id}")
    return ApiKey.get_by_id(key_id)
