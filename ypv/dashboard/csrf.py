"""CSRF tokens for every state-changing form.

A form's token is an HMAC of a per-browser secret: the session token once signed
in, before that a random ``ypv_csrf`` cookie. Neither secret is readable by page
scripts (HttpOnly) or by another site, and both cookies are SameSite=Lax, so a
forged cross-site POST carries neither a valid token nor, usually, the cookies.
The database never sees a CSRF token: it is recomputed from the cookie.
"""

import hashlib
import hmac
import secrets

COOKIE = "ypv_csrf"
FIELD = "csrf"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def token_for(secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), b"ypv csrf v1", hashlib.sha256).hexdigest()


def is_valid(secret: str | None, submitted: str | None) -> bool:
    if not secret or not submitted:
        return False
    return hmac.compare_digest(token_for(secret), submitted)
