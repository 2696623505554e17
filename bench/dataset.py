"""What a bench database holds, as plain row tuples (no database code here).

The shape imitates a service that has run for a while: a full catalog, a pool
of numbers, funded accounts with several keys each, a long history of finished
rentals and a set of live ones. History was sold lowest-number-first, so every
service has a used prefix of the pool, with the live rentals right after it:
the case that makes a naive "lowest free number" scan grow with history and
with every live rental (ypv/providers/pool.py walks from a floor and a cursor).
"""

import hashlib
import secrets
from dataclasses import dataclass

ALL_SCOPES = "balance,prices,purchase,cancel"
HIGH_LIMIT = 10_000_000           # per minute: the limiter is never what stops a bench key
BALANCE = 10_000_000_000          # minor units per account: never NO_BALANCE during a bench
CODE = "123456"


@dataclass(frozen=True)
class Sizes:
    countries: int = 150
    services: int = 200
    numbers: int = 100_000
    accounts: int = 1_000
    keys: int = 10_000
    rentals: int = 1_000_000
    live: int = 10_000

    def check(self) -> None:
        history = self.rentals - self.live
        needed = -(-history // self.services) + self.live
        if self.live > self.rentals or needed > self.numbers:
            raise ValueError(f"{self}: needs {needed} numbers for its rentals")

    @property
    def account_count(self) -> int:
        return min(self.accounts, self.keys)


@dataclass
class Dataset:
    """Rows per table, plus what the load generator needs to address them."""

    sizes: Sizes
    now: int
    tables: dict            # table name -> (columns, list of row tuples)
    keys: list              # plaintext keys, index = key id - 1
    pairs: list             # (key plaintext, live rental id, state)
    limited_key: str        # rate limit 1/min, already used: every request is a 429


def service_code(i: int) -> str:
    return chr(97 + i // 26) + chr(97 + i % 26)


def build(sizes: Sizes, now: int) -> Dataset:
    sizes.check()
    tables = {}
    tables["country"] = (("id", "eng", "rus", "chn", "phone_code", "visible"),
                         [(c, f"Country {c}", f"Страна {c}", f"国家{c}", 1 + c, True) for c in range(sizes.countries)])
    tables["service"] = (("code", "name"), [(service_code(s), f"Service {s}") for s in range(sizes.services)])
    tables["price"] = (("service_code", "country_id", "cost"), list(_prices(sizes)))
    tables["number"] = (("id", "phone", "country_id", "operator", "active", "created_at"),
                        [(n, str(10_000_000_000 + n), (n - 1) % sizes.countries, "any", True, now - 86_400 * 90)
                         for n in range(1, sizes.numbers + 1)])
    plaintexts = [_key() for _ in range(sizes.keys + 1)]
    tables["api_key"] = (("id", "account_id", "key_hash", "status", "prefix", "scopes", "rate_limit", "created_at",
                          "last_used_at"), list(_key_rows(sizes, plaintexts, now)))
    rentals, charges = _rentals(sizes, now)
    tables["rental"] = (RENTAL_COLUMNS, rentals)
    tables["account"] = (("id", "email", "balance", "created_at"),
                         [(a, f"bench{a}@example.com", BALANCE, now) for a in range(1, sizes.account_count + 2)])
    tables["ledger"] = (("id", "account_id", "amount", "kind", "rental_id", "created_at"),
                        list(_ledger(sizes, rentals, charges, now)))
    pairs = [(plaintexts[_pair_key(sizes, row[1] - 1, j)], row[0], row[10])
             for j, row in enumerate(rentals[len(rentals) - sizes.live:])]
    return Dataset(sizes, now, tables, plaintexts[:-1], pairs, plaintexts[-1])


def _key() -> str:
    return "ypv_" + secrets.token_hex(32)


def _prices(sizes: Sizes):
    for s in range(sizes.services):
        for c in range(sizes.countries):
            yield service_code(s), c, 10 + (s * 37 + c * 11) % 4990


def price_of(sizes: Sizes, s: int, c: int) -> int:
    return 10 + (s * 37 + c * 11) % 4990


def _key_rows(sizes: Sizes, plaintexts: list, now: int):
    """Key k belongs to account k % accounts; the last key (own account) has a limit of 1.

    Every key was last used an hour ago, as in a service that has been running: a
    key's very first use is written at once (ypv/key_usage.py), later ones in batches.
    """
    for k, plaintext in enumerate(plaintexts):
        limited = k == len(plaintexts) - 1
        account = sizes.account_count + 1 if limited else k % sizes.account_count + 1
        yield (k + 1, account, hashlib.sha256(plaintext.encode()).hexdigest(), "active", plaintext[:16],
               ALL_SCOPES, 1 if limited else HIGH_LIMIT, now - 86_400 * 60, now - 3_600)


def _pair_key(sizes: Sizes, account_index: int, j: int) -> int:
    """Spread the live rentals of an account over all of that account's keys."""
    per_account = max(1, sizes.keys // sizes.account_count)
    return account_index + sizes.account_count * ((j // sizes.account_count) % per_account)


RENTAL_COLUMNS = ("id", "account_id", "api_key_id", "service_code", "country_id", "number_id", "live_number_id",
                  "phone", "operator", "cost", "state", "code", "sms_text", "sms_at", "provider",
                  "created_at", "state_at", "expires_at", "ended_at")


def _rentals(sizes: Sizes, now: int):
    """History first (finished; number i // services for service i % services), then the live ones."""
    rows, charges = [], [0] * (sizes.account_count + 2)
    history = sizes.rentals - sizes.live
    first_live_number = -(-history // sizes.services) + 1
    for i in range(sizes.rentals):
        live = i >= history
        j = i - history
        number = first_live_number + j if live else i // sizes.services + 1
        s = j % sizes.services if live else i % sizes.services
        country = (number - 1) % sizes.countries
        account = i % sizes.account_count + 1
        cost = price_of(sizes, s, country)
        state = ("waiting" if j % 2 == 0 else "code") if live else "finished"
        code = None if state == "waiting" else CODE
        created = now - 300 if live else now - 86_400 * 30 + i % 86_400
        rows.append((i + 1, account, account, service_code(s), country, number, number if live else None,
                     str(10_000_000_000 + number), "any", cost, state, code,
                     None if code is None else f"Your code: {code}", None if code is None else created + 60,
                     "pool", created, created, now + 86_400 if live else created + 1200,
                     None if live else created + 600))
        charges[account] += cost
    return rows, charges


def _ledger(sizes: Sizes, rentals: list, charges: list, now: int):
    """A top-up per account that leaves it at BALANCE after paying for its rentals, then the charges."""
    ledger_id = 0
    for account in range(1, sizes.account_count + 2):
        ledger_id += 1
        yield ledger_id, account, BALANCE + charges[account], "topup", None, now - 86_400 * 60
    for row in rentals:
        ledger_id += 1
        yield ledger_id, row[1], -row[9], "charge", row[0], row[15]
