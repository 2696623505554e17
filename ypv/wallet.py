"""Wallets and the append-only ledger.

Every balance change is one conditional UPDATE on ``account.balance`` plus one
ledger row, inside the caller's write transaction, so ``balance == sum(ledger)``
holds for every account at every commit. A debit is
``UPDATE … SET balance = balance - p WHERE id = ? AND balance >= p``: safe under
concurrency on both backends, unlike a read-then-write. At most one charge and
one refund per rental is enforced by the ledger's unique (rental_id, kind).
"""

from peewee import IntegrityError, fn

from ypv import db
from ypv.errors import NoBalance
from ypv.models import Account, Ledger, Rental


def credit(account_id: int, amount: int, kind: str, now: int, note: str | None = None) -> None:
    """Top-up (kind 'topup') or operator adjustment ('adjust', may be negative)."""
    if amount == 0:
        raise ValueError("amount must not be zero")
    if amount < 0:
        _take(account_id, -amount)
    else:
        Account.update(balance=Account.balance + amount).where(Account.id == account_id).execute()
    Ledger.create(account=account_id, amount=amount, kind=kind, note=note, created_at=now)


def take(account_id: int, amount: int) -> None:
    """Reserve the price before the rental row exists; `record_charge` writes its ledger row."""
    _take(account_id, amount)


def record_charge(account_id: int, rental_id: int, amount: int, now: int) -> None:
    db.insert(Ledger, account=account_id, amount=-amount, kind="charge", rental=rental_id, created_at=now)


def refund(account_id: int, rental_id: int, amount: int, now: int) -> bool:
    """Refund a rental's charge; False (and no change) if it was refunded before.

    The ledger row goes first: if the unique index rejects it, nothing else has
    changed. The caller must run this inside a savepoint or transaction.
    """
    try:
        with Ledger._meta.database.atomic():
            Ledger.create(account=account_id, amount=amount, kind="refund", rental=rental_id, created_at=now)
    except IntegrityError:
        return False
    Account.update(balance=Account.balance + amount).where(Account.id == account_id).execute()
    return True


def balance(account_id: int) -> int:
    row = db.fetchone("SELECT balance FROM account WHERE id = {p}", (account_id,))  # every getBalance: no Peewee
    return row[0] if row else 0


def _take(account_id: int, amount: int) -> None:
    # Hand-written (db.execute): on the purchase path, inside the write lock, Peewee
    # building this UPDATE took longer than SQLite running it.
    updated = db.execute("UPDATE account SET balance = balance - {p} WHERE id = {p} AND balance >= {p}",
                         (amount, account_id, amount))
    if updated != 1:
        raise NoBalance()


def ledger_mismatches() -> list[str]:
    """Every way the books can be wrong, as human-readable lines (empty = clean).

    All reads share one snapshot: the check runs beside a live service, and a refund
    committed between two of its statements would otherwise look like a mismatch.
    """
    problems = []
    with _snapshot():
        sums = dict(Ledger.select(Ledger.account, fn.SUM(Ledger.amount)).group_by(Ledger.account).tuples())
        for account_id, email, bal in Account.select(Account.id, Account.email, Account.balance).tuples():
            total = int(sums.get(account_id) or 0)
            if total != bal:
                problems.append(f"account {email}: balance {bal} != ledger sum {total}")
            if bal < 0:
                problems.append(f"account {email}: negative balance {bal}")
        problems.extend(_rental_problems())
    return problems


def _snapshot():
    """A read-only view frozen at its first read: REPEATABLE READ on PostgreSQL; on SQLite a
    deferred transaction (WAL keeps its snapshot, and it takes no write lock). Inside an
    outer transaction it is a savepoint, which already sees one snapshot."""
    if db.is_postgresql():
        return db.database.atomic(isolation_level="REPEATABLE READ")
    return db.database.atomic(lock_type="DEFERRED")


def _rental_problems() -> list[str]:
    problems = []
    charges = dict(Ledger.select(Ledger.rental, fn.COUNT(Ledger.id)).where(Ledger.kind == "charge")
                   .group_by(Ledger.rental).tuples())
    refunds = dict(Ledger.select(Ledger.rental, fn.SUM(Ledger.amount)).where(Ledger.kind == "refund")
                   .group_by(Ledger.rental).tuples())
    for rental_id, state, cost in Rental.select(Rental.id, Rental.state, Rental.cost).tuples():
        if charges.get(rental_id, 0) != 1 and cost > 0:
            problems.append(f"rental {rental_id}: {charges.get(rental_id, 0)} charges, expected 1")
        refunded = rental_id in refunds
        if state in ("cancelled", "failed") and not refunded and cost > 0:
            problems.append(f"rental {rental_id}: {state} but not refunded")
        if refunded and state not in ("cancelled", "failed"):
            problems.append(f"rental {rental_id}: refunded but {state}")
        if refunded and int(refunds[rental_id]) != cost:
            problems.append(f"rental {rental_id}: refund {refunds[rental_id]} != cost {cost}")
    return problems
