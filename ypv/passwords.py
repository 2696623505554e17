"""Passwords: Argon2id through argon2-cffi, with its RFC 9106 default parameters.

Only the encoded hash (``$argon2id$v=19$m=…,t=…,p=…$salt$hash``) is stored. A
login for an unknown e-mail still runs one verification against a dummy hash,
so the time a failed login takes does not tell whether the account exists.
"""

import functools

MIN_LENGTH = 10
MAX_LENGTH = 1024  # hashing is deliberately slow; do not let a request hash a megabyte

_DUMMY_HASH = None


@functools.cache
def _hasher():
    """argon2-cffi, imported on the first password: a worker that only answers the handler API
    never loads it."""
    from argon2 import PasswordHasher

    return PasswordHasher()


def _mismatch_errors() -> tuple:
    from argon2.exceptions import InvalidHashError, VerificationError

    return VerificationError, InvalidHashError


def check_new_password(password: str) -> str:
    """The password to store, or ValueError with a message to show to the person."""
    if len(password) < MIN_LENGTH:
        raise ValueError(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise ValueError(f"Use at most {MAX_LENGTH} characters.")
    if not password.strip():
        raise ValueError("A password cannot be only spaces.")
    return password


def hash_password(password: str) -> str:
    return _hasher().hash(check_new_password(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False for a wrong password, a missing or a broken hash."""
    if not stored_hash or len(password) > MAX_LENGTH:
        _burn(password[:MAX_LENGTH])
        return False
    try:
        return _hasher().verify(stored_hash, password)
    except _mismatch_errors():
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters (re-hash it after a good login)."""
    return _hasher().check_needs_rehash(stored_hash)


def _burn(password: str) -> None:
    """Spend the time a real verification would, against a hash nobody's password matches."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher().hash("not anyone's password: ypv timing equaliser")
    try:
        _hasher().verify(_DUMMY_HASH, password)
    except _mismatch_errors():
        pass
