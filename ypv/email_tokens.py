"""One-time links sent by e-mail: sign-up confirmation, invitations, password resets.

The link carries a random token; the database keeps its SHA-256, the address it
was sent to, what it is for, and when it expires. Using a link is one conditional
UPDATE (``used_at IS NULL``), so of two concurrent uses exactly one wins.
"""

import hashlib
import secrets

from ypv.models import EmailToken

LIFETIMES = {"signup": 24 * 3600, "invite": 7 * 24 * 3600, "reset": 3600}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(email: str, purpose: str, now: int) -> str:
    """Store a new link for ``email`` and return its token (only the mail carries it)."""
    token = secrets.token_urlsafe(32)
    EmailToken.create(token_hash=_hash(token), email=email, purpose=purpose, created_at=now,
                      expires_at=now + LIFETIMES[purpose])
    return token


def peek(token: str | None, purposes: tuple, now: int) -> EmailToken | None:
    """The unused, unexpired link for ``token`` if it is for one of ``purposes``."""
    if not token or len(token) > 100:
        return None
    return EmailToken.get_or_none((EmailToken.token_hash == _hash(token)) & EmailToken.purpose.in_(purposes)
                                  & EmailToken.used_at.is_null() & (EmailToken.expires_at > now))


def use(token: str, purposes: tuple, now: int) -> EmailToken | None:
    """Mark the link used (inside the caller's transaction); None if it was not usable."""
    row = peek(token, purposes, now)
    if row is None:
        return None
    won = (EmailToken.update(used_at=now)
           .where((EmailToken.id == row.id) & EmailToken.used_at.is_null()).execute())
    return row if won == 1 else None
