"""Shared pieces of the stress tests: sizes, fast provisioning, a thread hammer, HTTP calls.

Sizes: every stress test has a bounded form that runs in CI (``make test``) and a
long form (``YPV_STRESS=long``, ``make stress``) whose figures docs/reliability.md
publishes. ``size(bounded, long)`` picks one.
"""

import os
import threading

import requests

from ypv import db, keys, wallet
from ypv.accounts import create_account
from ypv.numbers import add_numbers

LONG = os.environ.get("YPV_STRESS", "").strip().lower() == "long"


def size(bounded, long):
    """The bounded figure in CI, the long one under YPV_STRESS=long."""
    return long if LONG else bounded


def report(name: str, **figures) -> None:
    """Print one line of figures; `pytest -s` (or the -rA summary) shows it, docs quote it."""
    print(f"\n[stress] {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


def provision(database_url: str, count: int, balance: int, limit: int = 1_000_000,
              prefix: str = "buyer", now: int = 1_790_000_000) -> list[str]:
    """``count`` funded accounts with one all-scope key each, written in-process in one
    transaction: the CLI would take a second per command."""
    db.open_database(database_url)
    plaintexts = []
    with db.connection(), db.write_transaction():
        for i in range(count):
            account = create_account(f"{prefix}{i}@stress.example", now)
            if balance:
                wallet.credit(account.id, balance, "topup", now)
            plaintexts.append(keys.issue_key(account, ",".join(keys.SCOPES), limit, now)[1])
    return plaintexts


def add_pool(database_url: str, count: int, country: int = 0, start: int = 79_700_000_000,
             operator: str = "mts") -> list[str]:
    """Add ``count`` numbers to the pool; returns their phones."""
    db.open_database(database_url)
    phones = [str(start + i) for i in range(count)]
    with db.connection():
        add_numbers([{"phone": p, "country": country, "operator": operator} for p in phones], 0)
    return phones


def price(database_url: str, service: str, country: int) -> int:
    from ypv.models import Price
    db.open_database(database_url)
    with db.connection():
        return Price.get((Price.service == service) & (Price.country == country)).cost


class Hammer:
    """Run ``work(session, index)`` in N threads at once; collect what they return, in order."""

    def __init__(self, threads: int):
        self.threads = threads
        self.start_line = threading.Barrier(threads)

    def run(self, work) -> list:
        results: list = [None] * self.threads
        errors: list = []

        def body(index):
            session = requests.Session()
            try:
                self.start_line.wait(timeout=30)
                results[index] = work(session, index)
            except BaseException as exc:  # surfaced below: a thread's failure must fail the test
                errors.append(exc)
            finally:
                session.close()

        pool = [threading.Thread(target=body, args=(i,)) for i in range(self.threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join(timeout=600)
        assert not any(t.is_alive() for t in pool), "a load thread did not finish in 600 s"
        if errors:
            raise errors[0]
        return results


def call(session: requests.Session, url: str, timeout: float = 30, **params) -> tuple[int, str]:
    response = session.get(url, params=params, timeout=timeout)
    return response.status_code, response.text
