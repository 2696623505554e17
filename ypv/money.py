"""Money is integer minor units everywhere; these are the only conversions."""

import re

_AMOUNT = re.compile(r"^(\d{1,12})(?:\.(\d{1,2}))?$")


def parse_amount(text: str) -> int:
    """'25.50' -> 2550. Raises ValueError for anything but a plain non-negative decimal."""
    match = _AMOUNT.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an amount like 25.50")
    whole, cents = match.group(1), (match.group(2) or "").ljust(2, "0")
    return int(whole) * 100 + int(cents)


def parse_signed_amount(text: str) -> int:
    """Like parse_amount but allows a leading minus (operator adjustments)."""
    text = text.strip()
    if text.startswith("-"):
        return -parse_amount(text[1:])
    return parse_amount(text)


def render(minor: int) -> str:
    """2550 -> '25.50' (always two decimals and a dot; clients parse \\d+\\.\\d+)."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), 100)
    return f"{sign}{whole}.{cents:02d}"


def as_number(minor: int) -> float:
    """2550 -> 25.5 for JSON; division by 100 is correctly rounded, so repr is exact."""
    return minor / 100
