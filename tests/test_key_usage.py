"""Authentication and last use, after the speed work: keys remembered, last_used_at written behind.

Revocation must bite on the very next request even when another process (the
CLI) revokes; last_used_at is written at once for a key's first use and in
batches afterwards, never on every request and never backwards.
"""

from ypv import db, key_usage, keys
from ypv.models import ApiKey


def _last_used(key_id: int):
    with db.connection():
        return ApiKey.get_by_id(key_id).last_used_at


def _key_id(plaintext: str) -> int:
    with db.connection():
        return keys.authenticate(plaintext).id


def test_first_use_is_written_at_once(api, seed, clock):
    key_id = _key_id(seed.key)
    assert _last_used(key_id) is None
    assert api("getBalance")[0] == 200
    assert _last_used(key_id) == int(clock())


def test_later_uses_are_written_once_a_minute_in_a_batch(api, seed, clock):
    key_id = _key_id(seed.key)
    first = int(clock())
    api("getBalance")
    clock.advance(59)
    api("getBalance")
    assert _last_used(key_id) == first            # within the minute: no write at all
    clock.advance(1)
    api("getBalance")
    assert _last_used(key_id) == first            # due, but waits for the batch
    clock.advance(key_usage.FLUSH_AFTER)
    api("getBalance")                             # the batch is a second old: written now
    assert _last_used(key_id) == first + 60


def test_a_batch_never_moves_a_value_back(app, seed):
    key_id = _key_id(seed.key)
    with db.connection():
        key_usage.write({key_id: 2_000_000_000})
        key_usage.write({key_id: 1_900_000_000})
    assert _last_used(key_id) == 2_000_000_000


def test_every_batch_size_is_one_statement(app, seed, sql_texts):
    """A text per batch size (UPDATE … IN (?, ?, …)) filled every SQLite connection with
    near-identical prepared statements: 10 MiB of the bench's worker in a quarter of an hour."""
    key_ids = [_key_id(seed.add_key()) for _ in range(12)]
    with db.connection():
        for size in range(1, len(key_ids) + 1):
            key_usage.write(dict.fromkeys(key_ids[:size], 2_000_000_000 + size))
    updates = {sql for sql in sql_texts if sql.startswith("UPDATE api_key")}
    assert len(updates) == 1
    assert {_last_used(key_id) for key_id in key_ids} == {2_000_000_012}


def test_pending_refreshes_of_another_database_are_dropped(app, seed, clock):
    log = key_usage.UsageLog()
    key_id = _key_id(seed.key)
    with db.connection():
        log.note(key_id, int(clock()) - 120, int(clock()))
        saved, db.database.obj = db.database.obj, object()  # as if the next test opened its own
        try:
            assert log.flush() == 0
        finally:
            db.database.obj = saved
    assert _last_used(key_id) is None


def test_flush_writes_what_is_pending(app, seed, clock):
    log = key_usage.UsageLog()
    key_id = _key_id(seed.key)
    now = int(clock())
    with db.connection():
        log.note(key_id, now - 120, now)
        assert _last_used(key_id) is None
        assert log.flush() == 1
        assert log.flush() == 0
    assert _last_used(key_id) == now


def test_revoked_from_the_cli_fails_on_the_next_live_request(ypv_server):
    """The server remembers the key (ypv/key_cache.py) after its first request; the revocation,
    in another process, must still stop the very next one."""
    for _ in range(3):
        assert ypv_server.get(action="getBalance")[1].startswith("ACCESS_BALANCE:")
    ypv_server.cli("key", "revoke", ypv_server.api_key[:16])   # another process
    assert ypv_server.get(action="getBalance") == (200, "BAD_KEY")


def test_account_disabled_from_the_cli_fails_on_the_next_live_request(ypv_server):
    for _ in range(3):
        assert ypv_server.get(action="getBalance")[1].startswith("ACCESS_BALANCE:")
    ypv_server.cli("account", "disable", "demo@ypv.local")
    assert ypv_server.get(action="getBalance") == (200, "BAD_KEY")
    ypv_server.cli("account", "enable", "demo@ypv.local")
    assert ypv_server.get(action="getBalance")[1].startswith("ACCESS_BALANCE:")
