"""The activation state machine: setStatus, expiry, and reading an activation.

States: waiting → code → retry → code … → finished, or waiting → cancelled.
Every transition is a conditional UPDATE (``WHERE state IN (…)``), so of any
number of concurrent callers exactly one wins, and the refund that goes with a
cancel is written only by the winner (and is unique per rental in the schema).
"""

from ypv import db, wallet
from ypv.errors import BadStatus, EarlyCancelDenied, NoActivation
from ypv.models import LIVE_STATES, Rental

CANCEL_STATUSES = ("8", "-1")


def get_rental(account_id: int, rental_id: int) -> Rental:
    """The account's activation; one still being bought (pending) or never bought (failed) is not one."""
    # Every getStatus reads this: a hand-written SELECT (db.get_model), as Peewee
    # building the query costs ~20 times what SQLite spends answering it.
    rental = db.get_model(Rental, "id = {p} AND account_id = {p} AND state NOT IN ('pending', 'failed')",
                          (rental_id, account_id))
    if rental is None:
        raise NoActivation()
    return rental


def current(account_id: int, rental_id: int, now: int) -> Rental:
    """The rental as a client should see it now: expiry applies on time even between sweeps."""
    rental = get_rental(account_id, rental_id)
    if rental.is_live and rental.provider == "pool" and now >= rental.expires_at:
        expire(rental, now)
        rental = get_rental(account_id, rental_id)
    return rental


def set_status(rental: Rental, status: str, now: int, early_cancel_seconds: int) -> str:
    """Apply setStatus and return the success token."""
    if status == "1":
        if rental.state != "waiting":
            raise BadStatus()
        return "ACCESS_READY"
    if status == "3":
        if not _move(rental.id, ("code",), now, state="retry"):
            raise BadStatus()
        return "ACCESS_RETRY_GET"
    if status == "6":
        # A repeat is harmless, also when it races the first: the loser of the UPDATE re-reads.
        if rental.state == "finished" or finish(rental, now) or _state(rental.id) == "finished":
            return "ACCESS_ACTIVATION"
        raise BadStatus()
    if status in CANCEL_STATUSES:
        return _cancel(rental, now, early_cancel_seconds)
    raise BadStatus()


def _cancel(rental: Rental, now: int, early_cancel_seconds: int) -> str:
    if rental.state == "cancelled":
        return "ACCESS_CANCEL"
    if rental.state != "waiting":
        raise BadStatus()
    if now < rental.created_at + early_cancel_seconds:
        raise EarlyCancelDenied()
    if cancel_with_refund(rental, now):
        return "ACCESS_CANCEL"
    # Lost a race: someone else cancelled (fine) or a code arrived (then it is not cancellable).
    if _state(rental.id) == "cancelled":
        return "ACCESS_CANCEL"
    raise BadStatus()


def _state(rental_id: int) -> str:
    """The state as committed now, for a caller whose conditional UPDATE matched nothing."""
    return Rental.select(Rental.state).where(Rental.id == rental_id).scalar()


def cancel_with_refund(rental: Rental, now: int, reason_states=("waiting",)) -> bool:
    """waiting → cancelled and refund the charge, atomically; False if the rental had moved on."""
    with db.write_transaction():
        if not _move(rental.id, reason_states, now, state="cancelled", live_number=None, ended_at=now):
            return False
        wallet.refund(rental.account_id, rental.id, rental.cost, now)
        return True


def finish(rental: Rental, now: int) -> bool:
    """code received / waiting for retry → finished (the charge is final)."""
    return _move(rental.id, ("code", "retry"), now, state="finished", live_number=None, ended_at=now)


def expire(rental: Rental, now: int) -> bool:
    """End a live pool rental whose lifetime is over: refund if no code ever came."""
    if rental.state == "waiting":
        return cancel_with_refund(rental, now)
    return finish(rental, now)


def expire_due(now: int, batch: int = 500) -> int:
    """Expire every live pool rental past its lifetime; returns how many this call ended.

    Upstream rentals are expired by the upstream worker: they need a network call first.
    """
    ended = 0
    while True:
        due = list(Rental.select().where(Rental.state.in_(LIVE_STATES) & (Rental.expires_at <= now)
                                         & (Rental.provider == "pool"))
                   .order_by(Rental.expires_at).limit(batch))
        ended += sum(1 for rental in due if expire(rental, now))
        if len(due) < batch:
            return ended


def _move(rental_id: int, from_states: tuple, now: int, **changes) -> bool:
    """Conditional transition; True only for the one caller whose UPDATE matched."""
    with db.write_transaction():
        query = Rental.update(state_at=now, **changes).where(
            (Rental.id == rental_id) & Rental.state.in_(from_states))
        return query.execute() == 1
