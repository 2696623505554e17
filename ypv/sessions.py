"""Dashboard sign-in sessions, stored as rows so they survive restarts and can be revoked.

The browser's cookie holds a random token; the database holds only its SHA-256,
so a stolen copy of the database is not a set of logins. A session ends at its
expiry, on logout, when its account changes password (every other session) or
is disabled (every session).
"""

import hashlib
import secrets

from ypv.models import Account, WebSession

SESSION_SECONDS = 14 * 24 * 3600


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(account_id: int, now: int) -> str:
    """Create a session and return its token (for the cookie; never stored)."""
    token = secrets.token_urlsafe(32)
    WebSession.create(account=account_id, token_hash=_hash(token), created_at=now,
                      expires_at=now + SESSION_SECONDS)
    return token


def account_for(token: str | None, now: int) -> Account | None:
    """The enabled account a live session token belongs to, or None."""
    if not token or len(token) > 100:
        return None
    return (Account.select(Account).join(WebSession)
            .where((WebSession.token_hash == _hash(token)) & (WebSession.expires_at > now)
                   & (Account.disabled == False))  # noqa: E712
            .first())


def end(token: str | None) -> None:
    if token:
        WebSession.delete().where(WebSession.token_hash == _hash(token)).execute()


def end_all(account_id: int, keep_token: str | None = None) -> int:
    """End every session of an account, except the one making the change."""
    query = WebSession.delete().where(WebSession.account == account_id)
    if keep_token:
        query = query.where(WebSession.token_hash != _hash(keep_token))
    return query.execute()
