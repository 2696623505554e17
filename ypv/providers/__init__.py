"""Where numbers come from.

A provider sells numbers for (service, country) pairs and reports stock. The
local pool is the first; an upstream SMS-Activate-compatible provider plugs in
beside it with the same two methods.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Lease:
    """A number handed to one purchase, before the rental row exists."""

    number_id: int | None
    phone: str
    operator: str


@dataclass(frozen=True)
class NumberFilter:
    """The customer's optional constraints on the number they get."""

    operators: tuple = ()            # empty = any operator
    exclude_prefixes: tuple = ()     # phoneException
