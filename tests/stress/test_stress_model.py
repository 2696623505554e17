"""Issue 6, item 2: model-based testing of the real app against tests/stress/model.py.

A Hypothesis RuleBasedStateMachine drives the app create_app builds (through WebTest, on
the fake clock of tests/conftest.py, on the suite's backend): purchases with and without
orderId (getNumber and getNumberV2), SMS arrivals through ypv.sms.deliver, every setStatus,
status reads, clock jumps past the early-cancel window and past expiry, sweeper ticks,
top-ups, key issue and revocation, and keys with tiny limits so 429s are common. Every
answer must be the model's exact (status, body, Retry-After); after every step each
balance must equal the model's and the sum of its ledger, and every rental's state and
code must equal the model's.

200 examples × 50 steps in CI; ``YPV_STRESS=long`` runs 1,000 × 100.
"""

import os
from collections import Counter
from pathlib import Path

import webtest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from tests.conftest import POSTGRES_URL, T0, TEST_CATALOG, FakeClock
from tests.stress import model as m
from tests.stress.support import report, size
from ypv import db, keys, schema, sms, sweeper, wallet
from ypv.accounts import create_account
from ypv.app import create_app
from ypv.catalog import import_catalog
from ypv.config import Config
from ypv.numbers import add_numbers
from ypv.errors import NotFound
from ypv.models import Account, Rental

EXAMPLES, STEPS = size((200, 50), (1000, 100))
EXAMPLES = int(os.environ.get("YPV_MODEL_EXAMPLES", EXAMPLES))  # to reproduce a run of another size
ALL_SCOPES = "balance,prices,purchase,cancel"
START = {"alice": 500, "bob": 300}  # 5.00 and 3.00: a few purchases each, then NO_BALANCE
ORDER_IDS = st.one_of(st.none(), st.sampled_from(["o-1", "o-2", "o-3"]))
SMS_TEXTS = ("Your code: {code}", "Ваш код: {code}. Никому не сообщайте", "{code} is your code")
JUMPS = (0.5, 1, 7, 30, 59, 61, 119, 121, 600, 1199, 1201)
STATS = {"examples": 0, "steps": 0, "requests": 0, "answers": Counter()}


class Backend:
    """A fresh database for each example: a new SQLite file, or the test's PostgreSQL one emptied.

    Emptying PostgreSQL with DELETE (foreign-key triggers off for the transaction) and restarting
    the sequences takes milliseconds, where TRUNCATE or a new database takes up to a second.
    """

    def __init__(self, database_url: str, workdir: Path):
        self.url, self.workdir, self.count = database_url, workdir, 0

    def fresh_url(self) -> str:
        self.count += 1
        if not POSTGRES_URL:
            return f"sqlite:///{self.workdir / f'model-{self.count}.sqlite3'}"
        return self.url

    def prepare(self) -> None:
        """Tables for a new SQLite file; an empty database with ids from 1 on PostgreSQL."""
        if not POSTGRES_URL or self.count == 1:
            schema.create_tables()
        if POSTGRES_URL:
            with db.connection(), db.database.atomic():
                tables = _names("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                sequences = _names("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'")
                db.database.execute_sql("SET LOCAL session_replication_role = replica")
                for table in tables:
                    db.database.execute_sql(f'DELETE FROM "{table}"')
                for sequence in sequences:
                    db.database.execute_sql(f'ALTER SEQUENCE "{sequence}" RESTART')

    def close(self) -> None:
        if hasattr(db.database.obj, "close_all"):
            db.database.close_all()
        if not POSTGRES_URL:
            for path in self.workdir.glob(f"model-{self.count}.sqlite3*"):
                path.unlink()


def _names(sql: str) -> list[str]:
    return [name for (name,) in db.database.execute_sql(sql).fetchall()]


def _seed(clock) -> dict:
    """The test catalog, four numbers, two funded accounts; returns {name: account id}."""
    now = int(clock())
    with db.connection():
        import_catalog(TEST_CATALOG)
        add_numbers([{"phone": p, "country": c, "operator": o} for p, c, o in m.NUMBERS], now)
        ids = {}
        with db.write_transaction():
            for name, balance in START.items():
                ids[name] = create_account(f"{name}@model.example", now).id
                wallet.credit(ids[name], balance, "topup", now)
    return ids


class ActivationMachine(RuleBasedStateMachine):
    backend: Backend  # set by the test before the machine runs

    def __init__(self):
        super().__init__()
        self.clock = FakeClock(T0)
        url = self.backend.fresh_url()
        config = Config(database_url=url, stock_cache_seconds=1e-9, early_cancel_seconds=m.EARLY_CANCEL,
                        rental_ttl_seconds=m.TTL)
        self.client = webtest.TestApp(create_app(config, clock=self.clock))
        self.backend.prepare()
        self.account_ids = _seed(self.clock)
        self.model = m.Model(START)
        self.model.now = self.clock()
        self.key_names: list[str] = []
        for account, limit in (("alice", 600), ("alice", 3), ("bob", 600)):
            self._issue(account, limit, ALL_SCOPES)
        STATS["examples"] += 1

    def teardown(self):
        self.backend.close()

    # --- helpers ------------------------------------------------------------------------------

    def _issue(self, account: str, limit: int, scopes: str) -> None:
        with db.connection(), db.write_transaction():
            plaintext = keys.issue_key(self.account_ids[account], scopes, limit, int(self.clock()))[1]
        self.model.keys[plaintext] = m.Key(account, limit, frozenset(scopes.split(",")))
        self.key_names.append(plaintext)

    def _call(self, key: str, action: str, **params) -> tuple[int, str]:
        query = {"api_key": key, "action": action, **{k: str(v) for k, v in params.items() if v is not None}}
        resp = self.client.get("/stubs/handler_api.php", params=query, expect_errors=True)
        body = resp.body.decode("utf-8")
        if resp.status_int == 429:
            return 429, f"{body} retry-after={resp.headers['Retry-After']}"
        return resp.status_int, body

    def _check(self, key: str, action: str, expected_by_model, **params) -> None:
        """Ask the app and the model; the model's gate answers first, as the app's does."""
        expected = self.model.gate(key, action) or expected_by_model()
        STATS["requests"] += 1
        STATS["answers"][expected[1].split(":")[0].split(" ")[0][:20]] += 1
        assert self._call(key, action, **params) == expected

    def _account_of(self, key: str) -> str:
        return self.model.keys[key].account

    def _key(self, data) -> str:
        """Usually a working key (active, every scope, a high limit); sometimes any key ever issued,
        so revoked keys, missing scopes and tiny limits (429) are exercised too."""
        keys_ = self.model.keys
        working = [k for k in self.key_names
                   if not keys_[k].revoked and keys_[k].limit > 100 and len(keys_[k].scopes) == 4]
        choices = [st.sampled_from(working)] * 2 * bool(working) + [st.sampled_from(self.key_names)]
        return data.draw(st.one_of(choices))

    def _pick(self, data) -> tuple[str, int]:
        """A key and an activation id: usually its account's (live ones first), sometimes any id."""
        key = self._key(data)
        own = [r for r in self.model.rentals if r.account == self._account_of(key)]
        live = [r.id for r in own if r.state in m.LIVE]
        choices = [st.sampled_from(ids) for ids in (live, live, [r.id for r in own]) if ids]
        choices.append(st.integers(1, len(self.model.rentals) + 1))
        return key, data.draw(st.one_of(choices))

    def _number(self, data) -> int:
        """Usually a number some rental holds, sometimes any number of the pool."""
        held = sorted({r.number for r in self.model.rentals if r.state in m.LIVE})
        anything = st.integers(0, len(m.NUMBERS) - 1)
        return data.draw(st.one_of(st.sampled_from(held), anything) if held else anything)

    # --- rules --------------------------------------------------------------------------------

    @rule(data=st.data(), service=st.sampled_from(["tg", "wa", "ot"]), country=st.sampled_from([None, 0, 187]),
          order_id=ORDER_IDS, v2=st.booleans())
    def get_number(self, data, service, country, order_id, v2):
        key = self._key(data)
        action = "getNumberV2" if v2 else "getNumber"
        self._check(key, action, lambda: self.model.buy(self._account_of(key), service, country or 0, order_id, v2),
                    service=service, country=country, orderId=order_id)

    @precondition(lambda self: self.model.rentals)  # before any purchase every id is NO_ACTIVATION
    @rule(data=st.data(), status=st.sampled_from(["1", "3", "6", "8", "-1", "2", "abc"]))
    def set_status(self, data, status):
        key, rental_id = self._pick(data)

        def expected():
            rental = self.model.current(self._account_of(key), rental_id)
            return m.ok("NO_ACTIVATION" if rental is None else self.model.set_status(rental, status))

        self._check(key, "setStatus", expected, id=rental_id, status=status)

    @rule(data=st.data(), action=st.sampled_from(["getStatus", "getStatusV2", "getFullSms", "getBalance"]))
    def read(self, data, action):
        if action == "getBalance" or not self.model.rentals:  # before a purchase every id is NO_ACTIVATION
            key, action = self._key(data), "getBalance"
            balance = lambda: m.ok(f"ACCESS_BALANCE:{m.money(self.model.balances[self._account_of(key)])}")
            return self._check(key, action, balance)
        key, rental_id = self._pick(data)
        answer = {"getStatus": self.model.status, "getStatusV2": self.model.status_v2,
                  "getFullSms": self.model.full_sms}[action]

        def expected():
            rental = self.model.current(self._account_of(key), rental_id)
            return m.ok("NO_ACTIVATION" if rental is None else answer(rental))

        self._check(key, action, expected, id=rental_id)

    @precondition(lambda self: any(r.state in m.LIVE for r in self.model.rentals))
    @rule(data=st.data())
    def client_moves_on(self, data):
        """What a client does next with a live rental (uniform random steps rarely get that far):
        waiting → its SMS arrives, or ready/cancel; code → another code or finish; retry → SMS or finish."""
        rental = data.draw(st.sampled_from([r for r in self.model.rentals if r.state in m.LIVE]))
        key = next((k for k in self.key_names if self._account_of(k) == rental.account
                    and not self.model.keys[k].revoked and self.model.keys[k].limit > 100), None)
        step = data.draw(st.sampled_from({"waiting": ["sms", "1", "8"], "code": ["3", "6"],
                                          "retry": ["sms", "6"]}[rental.state]))
        if step == "sms" or key is None:
            return self._sms(rental.number, SMS_TEXTS[0].format(code=data.draw(st.integers(1000, 9999))))
        self._check(key, "setStatus", lambda: m.ok(self.model.set_status(
            self.model.current(rental.account, rental.id), step)), id=rental.id, status=step)

    @rule(data=st.data(), template=st.sampled_from(SMS_TEXTS + ("no digits here",)),
          code=st.integers(1000, 99_999_999).map(str))
    def sms_arrives(self, data, template, code):
        self._sms(self._number(data), template.format(code=code))

    def _sms(self, number: int, text: str) -> None:
        code = next((w.strip(".") for w in text.split() if w.strip(".").isdigit()), None)
        expected = self.model.sms(number, text, code)
        with db.connection():
            assert sms.deliver(m.NUMBERS[number][0], text, int(self.clock())) == expected

    @rule(seconds=st.sampled_from(JUMPS), sweep=st.booleans())
    def time_passes(self, seconds, sweep):
        """The clock jumps; then, maybe, the sweeper ticks (otherwise expiry waits for a read)."""
        self.clock.advance(seconds)
        self.model.now = self.clock()
        if sweep:
            self.model.sweep()
            sweeper.run_once(Config(), int(self.clock()))

    @rule(data=st.data(), act=st.sampled_from(["top_up", "revoke", "issue"]), account=st.sampled_from(sorted(START)))
    def operator_acts(self, data, act, account):
        """What the operator does from the CLI: top up a wallet, revoke a key, issue a key."""
        if act == "top_up":
            self._top_up(account, data.draw(st.sampled_from([1, 150, 1000])))
        elif act == "revoke":
            self._revoke(data.draw(st.sampled_from(self.key_names)))
        else:
            self._issue(account, data.draw(st.sampled_from([2, 3, 600])),
                        data.draw(st.sampled_from([ALL_SCOPES, ALL_SCOPES, "balance", "purchase", "cancel"])))

    def _top_up(self, account: str, amount: int) -> None:
        with db.connection(), db.write_transaction():
            wallet.credit(self.account_ids[account], amount, "topup", int(self.clock()))
        self.model.balances[account] += amount

    def _revoke(self, key: str) -> None:
        with db.connection():  # revoke_key is its own transaction (ypv/key_cache.py)
            try:
                keys.revoke_key(keys.key_prefix(key), int(self.clock()))
                revoked = True
            except NotFound:
                revoked = False
        assert revoked == (not self.model.keys[key].revoked)
        self.model.keys[key].revoked = True

    # --- after every step ---------------------------------------------------------------------

    @invariant()
    def books_match_the_model(self):
        STATS["steps"] += 1  # invariants run after every step (and once at the start)
        with db.connection():
            assert wallet.ledger_mismatches() == []  # balance == sum(ledger), one charge, refund at most once
            balances = dict(Account.select(Account.id, Account.balance).tuples())
            rows = {r.id: (r.state, r.code) for r in Rental.select(Rental.id, Rental.state, Rental.code)}
        assert {name: balances[i] for name, i in self.account_ids.items()} == self.model.balances
        assert rows == {r.id: (r.state, r.code) for r in self.model.rentals}


def test_the_app_behaves_like_the_model(database_url, tmp_path):
    ActivationMachine.backend = Backend(database_url, tmp_path)
    STATS.update(examples=0, steps=0, requests=0, answers=Counter())
    run_state_machine_as_test(ActivationMachine, settings=settings(
        max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    report("model-based", examples=STATS["examples"], steps=STATS["steps"] - STATS["examples"],
           requests=STATS["requests"], max_steps=STEPS, answers=dict(STATS["answers"].most_common()))
    assert STATS["examples"] >= EXAMPLES


def test_a_code_arriving_after_expiry_does_not_cost_the_customer(api, seed):
    """Found by the machine: an SMS for a rental past its lifetime, before the sweeper ran, turned it
    into "code received", so expiry finished it and the customer paid for a number that had expired."""
    assert api.body("getNumber", service="tg") == "ACCESS_NUMBER:1:79000000001"
    seed.clock.advance(m.TTL)
    with db.connection():
        assert sms.deliver("79000000001", "Your code: 51234", int(seed.clock())) is None
    assert api.body("getStatus", id=1) == "STATUS_CANCEL"
    assert api.body("getBalance") == "ACCESS_BALANCE:100.00"
