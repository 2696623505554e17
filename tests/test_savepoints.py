"""Nested transactions are savepoints with one shared name (ypv/db.py), and still nest correctly."""

import pytest

from ypv import db
from ypv.models import Service


class Undo(Exception):
    pass


def _add(code: str) -> None:
    Service.create(code=code, name=code)


def _codes() -> set:
    with db.connection():
        return {s.code for s in Service.select()}


def test_a_failed_inner_block_undoes_itself_and_what_it_holds_only(app):
    with db.connection(), db.database.atomic():
        _add("outer")
        with db.database.atomic():
            _add("kept")
        with pytest.raises(Undo):
            with db.database.atomic():
                _add("middle")
                with db.database.atomic():
                    _add("inner")
                raise Undo()
        with db.database.atomic():
            _add("after")
            with pytest.raises(Undo):
                with db.database.atomic():
                    _add("inner2")
                    raise Undo()
    assert _codes() == {"outer", "kept", "after"}


def test_a_failed_outer_block_undoes_its_released_inner_ones(app):
    with db.connection(), db.database.atomic():
        _add("outer")
        with pytest.raises(Undo):
            with db.database.atomic():
                with db.database.atomic():
                    _add("released")
                raise Undo()
    assert _codes() == {"outer"}


def test_every_savepoint_is_one_statement_text(app, seed, sql_texts, api):
    """Peewee's own savepoints are named by uuid4: each one a new prepared statement for the
    connection to keep (a cancellation's refund opens one)."""
    rented = [api.body("getNumber", service="tg", country=0).split(":")[1] for _ in range(4)]
    seed.clock.advance(120)  # past the early-cancel window
    for rental_id in rented:
        assert api.body("setStatus", id=rental_id, status=8) == "ACCESS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"  # every charge refunded
    savepoints = {sql for sql in sql_texts if "SAVEPOINT" in sql and "group_item" not in sql}
    assert savepoints == {'SAVEPOINT "ypv_nested";', 'RELEASE SAVEPOINT "ypv_nested";'}
