"""Group commit: work from several threads in one transaction, each item all-or-nothing on its own."""

import threading

import pytest
from peewee import IntegrityError

from ypv import db, group_commit
from ypv.errors import NoNumbers
from ypv.models import Service


def _add_service(code: str):
    def work():
        Service.create(code=code, name=code)
        if code.startswith("bad"):
            raise NoNumbers()
        return code
    return work


def _codes() -> set:
    with db.connection():
        return {s.code for s in Service.select()}


def test_queued_work_shares_a_batch_and_fails_alone(app):
    group = group_commit.GroupCommit()
    results, started = {}, threading.Barrier(7)

    def submit(code):
        with db.connection():
            started.wait()
            try:
                results[code] = group.run(_add_service(code))
            except NoNumbers as exc:
                results[code] = exc

    codes = ["ok1", "bad1", "ok2", "bad2", "ok3", "ok4"]
    threads = [threading.Thread(target=submit, args=(c,)) for c in codes]
    with db.sqlite_writer:                 # hold the lock so that everything queues up
        for t in threads:
            t.start()
        started.wait()
        while len(group._queue) < len(codes):
            threading.Event().wait(0.01)
    for t in threads:
        t.join()
    assert {c: r if isinstance(r, str) else type(r).__name__ for c, r in results.items()} == {
        "ok1": "ok1", "ok2": "ok2", "ok3": "ok3", "ok4": "ok4", "bad1": "NoNumbers", "bad2": "NoNumbers"}
    assert _codes() == {"ok1", "ok2", "ok3", "ok4"}   # the failed items' rows were rolled back


def test_inside_a_transaction_it_runs_in_place(app):
    with db.connection(), db.write_transaction():
        assert group_commit.group.run(_add_service("nested")) == "nested"
        assert not group_commit.group._queue
    assert "nested" in _codes()


class _FailingCommit:
    """database.atomic() whose outermost block fails on exit, as a failed COMMIT would."""

    def __init__(self, real):
        self.real, self.depth = real, 0

    def execute_sql(self, sql, params=None):  # the items' savepoints: nothing to undo here
        return None

    def atomic(self):
        outer = self

        class Block:
            def __enter__(self):
                outer.depth += 1

            def __exit__(self, *exc):
                outer.depth -= 1
                if outer.depth == 0 and exc[0] is None:
                    raise RuntimeError("commit failed")
        return Block()


def test_a_failed_commit_fails_every_item(app, monkeypatch):
    monkeypatch.setattr(group_commit.db, "database", _FailingCommit(db.database))
    items = [group_commit._Item(lambda: "fine"), group_commit._Item(lambda: "also fine")]
    group_commit._run_batch(items)
    assert [(i.done, i.result, str(i.error)) for i in items] == [(True, None, "commit failed")] * 2


@pytest.mark.parametrize("threads", [8])
def test_many_threads_each_get_their_own_answer(app, threads):
    answers = []

    def submit(i):
        with db.connection():
            answers.append(group_commit.group.run(_add_service(f"s{i}")))

    workers = [threading.Thread(target=submit, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    assert sorted(answers) == sorted(f"s{i}" for i in range(threads))
    assert _codes() == {f"s{i}" for i in range(threads)}


def _conflict_once():
    """Work that writes, then loses a unique race the first time it runs."""
    calls = []

    def work():
        calls.append(1)
        Service.create(code=f"try{len(calls)}", name="attempt")
        if len(calls) == 1:
            raise IntegrityError("UNIQUE constraint failed: rental.live_number_id")
        return len(calls)
    return work


def test_a_retried_conflict_leaves_nothing_of_the_failed_attempt(app):
    with db.connection():
        assert db.retry_on_conflict(_conflict_once()) == 2
    assert {"try1", "try2"} & _codes() == {"try2"}


def test_failing_work_inside_a_transaction_undoes_only_itself(app):
    with db.connection(), db.write_transaction():
        Service.create(code="before", name="before")
        with pytest.raises(NoNumbers):
            group_commit.group.run(_add_service("bad-nested"))
    assert "before" in _codes() and "bad-nested" not in _codes()
