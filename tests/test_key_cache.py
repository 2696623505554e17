"""The key cache (ypv/key_cache.py) and its epoch file (ypv/key_epoch.py).

Keys are remembered between requests, and never served after a change that
turns them off. The cross-process case (a real gunicorn, `ypv key revoke` and
`ypv account disable` in other processes) is in tests/test_key_usage.py.
"""

import secrets

import pytest

from ypv import accounts, db, key_usage, keys, sweeper, wallet
from ypv.config import Config
from ypv.key_cache import REFRESH, TTL, cache
from ypv.key_epoch import EpochUnavailable, KeyEpoch

TEXT = "text/plain; charset=utf-8"


def _rename_table(old: str, new: str) -> None:
    with db.connection():
        db.database.execute_sql(f"ALTER TABLE {old} RENAME TO {new}")


def test_a_remembered_key_is_not_looked_up_again(api, seed):
    other = seed.add_key()
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    _rename_table("api_key", "api_key_away")  # from here a lookup fails
    try:
        assert api("getBalance", key=other) == (200, TEXT, "ERROR_SQL")
        assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    finally:
        _rename_table("api_key_away", "api_key")


def test_getbalance_reads_the_balance_with_the_key_or_alone(api, seed, monkeypatch):
    """A key not remembered brings its balance in the one lookup query; a remembered one needs
    one query for the balance. Either way the answer is the balance as it is now."""
    second = seed.add_key()
    with db.connection(), db.write_transaction():
        wallet.credit(seed.account_id, 250, "topup", int(seed.clock()))
    selects, real = [], db.database.obj.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        if sql.lstrip().upper().startswith("SELECT"):
            selects.append(sql)
        return real(sql, params, *args, **kwargs)

    monkeypatch.setattr(db.database.obj, "execute_sql", counting)
    assert api("getBalance", key=second) == (200, TEXT, "ACCESS_BALANCE:102.50")
    assert len(selects) == 1 and "a.balance" in selects[0]
    with db.connection(), db.write_transaction():
        wallet.credit(seed.account_id, -50, "adjust", int(seed.clock()))
    selects.clear()
    assert api("getBalance", key=second) == (200, TEXT, "ACCESS_BALANCE:102.00")
    assert len(selects) == 1 and "api_key" not in selects[0]


def test_a_lookup_that_races_a_revocation_is_never_used(api, seed):
    key_hash = keys.hash_key(seed.key)
    with db.connection():
        _, read_before = cache.get(key_hash)          # what authenticate reads before its lookup
        looked_up = keys.authenticate(seed.key)       # the row, still active
        keys.revoke_key(keys.key_prefix(seed.key), int(seed.clock()))  # commits while "in flight"
    cache.put(key_hash, looked_up, read_before)       # the lookup finishes and stores what it read
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_disabling_an_account_forgets_its_keys_at_once(api, seed):
    second = seed.add_key()
    assert api("getBalance", key=second) == (200, TEXT, "ACCESS_BALANCE:100.00")
    with db.connection():
        accounts.set_disabled(seed.account_id, True)
    assert api("getBalance", key=second) == (200, TEXT, "BAD_KEY")
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_a_change_made_around_ypv_is_seen_within_the_ttl(api, seed, clock, monkeypatch):
    """SQL typed into a database shell writes no new epoch: the entry's age bounds it."""
    monkeypatch.setattr(cache, "_clock", clock)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    with db.connection():
        db.database.execute_sql("UPDATE api_key SET status = 'revoked'")
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    clock.advance(TTL)
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_a_refresh_keeps_busy_keys_past_the_ttl_without_a_lookup(api, seed, clock, monkeypatch):
    """The sweeper re-reads remembered keys in one pass; no request has to look its key up again."""
    monkeypatch.setattr(cache, "_clock", clock)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    clock.advance(TTL - 1)
    with db.connection():
        assert cache.refresh(keys.look_up_many) == 1
    clock.advance(TTL - 1)                    # past the first fill's TTL, within the refresh's
    _rename_table("api_key", "api_key_away")  # from here a lookup fails
    try:
        assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
        clock.advance(1)                      # and the refresh's own TTL bounds it
        assert api("getBalance") == (200, TEXT, "ERROR_SQL")
    finally:
        _rename_table("api_key_away", "api_key")


def test_a_refresh_drops_a_key_changed_around_ypv(api, seed, clock, monkeypatch):
    monkeypatch.setattr(cache, "_clock", clock)
    monkeypatch.setattr(cache, "_next_refresh", 0.0)
    second = seed.add_key()
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    assert api("getBalance", key=second) == (200, TEXT, "ACCESS_BALANCE:100.00")
    with db.connection():
        db.database.execute_sql("UPDATE api_key SET status = 'revoked' WHERE key_hash = " + db.database.param,
                                (keys.hash_key(second),))
        assert cache.refresh_if_due(keys.look_up_many) == 1   # the sweeper's first tick
        assert cache.refresh_if_due(keys.look_up_many) is None  # and not again before REFRESH
    assert api("getBalance", key=second) == (200, TEXT, "BAD_KEY")
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    clock.advance(REFRESH)
    with db.connection():
        assert cache.refresh_if_due(keys.look_up_many) == 1


def test_a_refresh_keeps_unchanged_entries_and_applies_a_changed_limit(api, seed, clock, monkeypatch):
    monkeypatch.setattr(cache, "_clock", clock)
    second = seed.add_key()
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    assert api("getBalance", key=second) == (200, TEXT, "ACCESS_BALANCE:100.00")
    first_hash, second_hash = keys.hash_key(seed.key), keys.hash_key(second)
    before = dict(cache._entries)
    with db.connection():
        db.database.execute_sql("UPDATE api_key SET rate_limit = 1 WHERE key_hash = " + db.database.param,
                                (second_hash,))
        assert cache.refresh(keys.look_up_many) == 2
    assert cache._entries[first_hash] is before[first_hash]  # nothing new allocated for it
    assert cache._entries[second_hash].rate_limit == 1
    assert api("getBalance", key=second)[:2] == (429, TEXT)  # its one request this minute was made
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")


def test_a_refresh_reads_any_number_of_keys_with_one_statement(api, seed, sql_texts):
    """Chunks are padded to one length: a text per remainder would be one more prepared
    statement kept on every connection the sweeper used."""
    plaintexts = [seed.add_key() for _ in range(keys._REFRESH_CHUNK + 30)]
    with db.connection():
        remembered = {}
        for plaintext in plaintexts:
            authed = keys.authenticate(plaintext)
            remembered[authed.key_hash] = authed
            found = keys.look_up_many(remembered)
            assert found == remembered  # every key still active, each the very object remembered
            assert all(found[h] is remembered[h] for h in found)
    refreshes = {sql for sql in sql_texts if sql.startswith("SELECT k.key_hash")}
    assert len(refreshes) == 1


def test_a_refresh_that_races_a_revocation_brings_nothing_back(api, seed, clock, monkeypatch):
    """The keys are read, then ypv revokes one (a new epoch) before the pass applies what it read."""
    monkeypatch.setattr(cache, "_clock", clock)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")

    def read_then_revoke(remembered):
        found = keys.look_up_many(remembered)
        keys.revoke_key(keys.key_prefix(seed.key), int(seed.clock()))
        return found

    with db.connection():
        assert cache.refresh(read_then_revoke) == 0
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_a_refresh_that_races_a_start_over_keeps_nothing_it_read(api, seed, clock, monkeypatch):
    monkeypatch.setattr(cache, "_clock", clock)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    key_hash = keys.hash_key(seed.key)

    def read_then_start_over(remembered):
        found = keys.look_up_many(remembered)
        clock.advance(TTL)
        assert cache.get(key_hash)[0] is None  # a request past the TTL starts the cache over
        return found

    with db.connection():
        assert cache.refresh(read_then_start_over) == 0
    assert cache.get(key_hash)[0] is None


def test_a_refresh_after_the_ttl_leaves_the_start_over_to_the_next_request(api, seed, clock, monkeypatch):
    monkeypatch.setattr(cache, "_clock", clock)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    clock.advance(TTL)
    with db.connection():
        assert cache.refresh(keys.look_up_many) == 0
        db.database.execute_sql("UPDATE api_key SET status = 'revoked'")
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_the_sweeper_refreshes_the_remembered_keys(api, seed, clock, monkeypatch):
    monkeypatch.setattr(cache, "_clock", clock)
    monkeypatch.setattr(cache, "_next_refresh", 0.0)
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")
    with db.connection():
        db.database.execute_sql("UPDATE api_key SET status = 'revoked'")
    sweeper.run_once(Config(), int(clock()))
    assert api("getBalance") == (200, TEXT, "BAD_KEY")


def test_unknown_keys_are_never_remembered(api, seed):
    api("getBalance")
    before = len(cache._entries)
    for _ in range(50):
        assert api("getBalance", key="ypv_" + secrets.token_hex(32)) == (200, TEXT, "BAD_KEY")
    assert len(cache._entries) == before


def test_a_key_change_inside_an_open_transaction_is_refused(api, seed):
    with db.connection(), pytest.raises(RuntimeError, match="must wrap the transaction"):
        with db.write_transaction():
            keys.revoke_key(keys.key_prefix(seed.key), int(seed.clock()))
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")  # rolled back: nothing changed


def test_a_process_that_cannot_write_the_epoch_refuses_to_revoke(api, seed, monkeypatch):
    api("getBalance")
    monkeypatch.setattr(cache._epoch, "writable", False)
    with db.connection(), pytest.raises(EpochUnavailable, match="cannot write the key epoch file"):
        keys.revoke_key(keys.key_prefix(seed.key), int(seed.clock()))
    assert api("getBalance") == (200, TEXT, "ACCESS_BALANCE:100.00")  # refused before anything changed


def test_first_use_is_written_once_while_the_key_is_remembered(api, seed, monkeypatch):
    writes = []
    real_write = key_usage.write
    monkeypatch.setattr(key_usage, "write", lambda times: (writes.append(dict(times)), real_write(times)))
    for _ in range(5):
        assert api("getBalance")[2] == "ACCESS_BALANCE:100.00"
    assert writes == [{1: int(seed.clock())}]


def test_without_an_epoch_file_nothing_is_remembered(app, config, seed, tmp_path):
    """PostgreSQL with no YPV_KEY_EPOCH_FILE: no place every process is sure to see, so no cache.
    SQLite always has one: beside its file."""
    cache.attach(None)
    with db.connection():
        keys.authenticate(seed.key)
        remembered = cache.get(keys.hash_key(seed.key))[0]
    if db.is_sqlite():
        assert remembered is not None
        assert (tmp_path / "ypv.sqlite3-keys").stat().st_size == 8
    else:
        assert remembered is None


def test_two_mappings_of_one_epoch_file_see_each_other(tmp_path):
    first, second = KeyEpoch(str(tmp_path / "epoch")), KeyEpoch(str(tmp_path / "epoch"))
    assert first.read() == second.read() == bytes(8)  # a new file: eight zero bytes
    first.change()
    assert second.read() == first.read() != bytes(8)
    second.change()
    assert first.read() == second.read()


def test_an_epoch_file_that_cannot_be_opened_turns_the_cache_off(tmp_path):
    epoch = KeyEpoch(str(tmp_path / "no-such-folder" / "epoch"))
    assert (epoch.readable, epoch.writable) == (False, False)
    with pytest.raises(EpochUnavailable):
        epoch.change()
