"""Shared fixtures: a fresh database per test (SQLite file, or PostgreSQL when
YPV_TEST_POSTGRES_URL is set), the app on a fake clock, and a seeded catalog."""

import os
import re
import uuid
from dataclasses import dataclass

import psycopg
import pytest
import webtest

from ypv import db, keys, schema, wallet
from ypv.accounts import create_account
from ypv.app import create_app
from ypv.catalog import import_catalog
from ypv.config import Config
from ypv.numbers import add_numbers
from ypv.testing import YpvServer

POSTGRES_URL = os.environ.get("YPV_TEST_POSTGRES_URL")  # e.g. postgresql://postgres@127.0.0.1:5432/postgres
T0 = 1_790_000_000  # a fixed "now" for fake-clock tests (2026-09-21 UTC)


def pytest_report_header(config):
    return f"ypv database backend: {'postgresql' if POSTGRES_URL else 'sqlite'}"


@pytest.fixture
def database_url(tmp_path):
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'ypv.sqlite3'}"
        return
    name = f"ypv_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    if db.database.obj is not None and hasattr(db.database.obj, "close_all"):
        db.database.close_all()
    try:
        leaked = tables_holding_a_key(f"{base}/{name}")
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # SQLite files stay in tmp_path, where tests/stress/test_stress_secrets.py reads them at the end.
    assert leaked == [], f"a whole API key is stored in {leaked}"


def tables_holding_a_key(url: str) -> list[str]:
    """The tables of a PostgreSQL database with a whole ``ypv_`` key in any column of any row.

    upstream.api_key is the operator's credential for an upstream provider, kept so reseller mode
    can call it; it looks like ours when the upstream is a second ypv (tests/test_reseller_live.py).
    """
    with psycopg.connect(url, autocommit=True) as connection:
        tables = [t for (t,) in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
        if not tables:
            return []
        pattern = "ypv_[0-9a-f]{64}"
        row = {t: "(to_jsonb(r) - 'api_key')::text" if t == "upstream" else "r::text" for t in tables}
        query = " UNION ALL ".join(f"(SELECT '{t}' FROM \"{t}\" AS r WHERE {row[t]} ~ '{pattern}' LIMIT 1)"
                                   for t in tables)
        return [t for (t,) in connection.execute(query)]


class FakeClock:
    def __init__(self, now: float = T0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def config(database_url, tmp_path):
    # SQLite keeps its key epoch beside the file; PostgreSQL needs one named (ypv/key_cache.py).
    epoch_file = None if database_url.startswith("sqlite") else str(tmp_path / "key-epoch")
    return Config(database_url=database_url, stock_cache_seconds=1e-9, early_cancel_seconds=120,
                  rental_ttl_seconds=1200, key_epoch_file=epoch_file)


@pytest.fixture
def app(config, clock):
    application = create_app(config, clock=clock)
    schema.create_tables()
    return application


class _RecordingCursor:
    """A real cursor that notes every statement text it is given (``execute`` and ``executemany``)."""

    def __init__(self, cursor, texts: list):
        self._cursor, self._texts = cursor, texts

    def execute(self, sql, *args):
        self._texts.append(sql)
        return self._cursor.execute(sql, *args)

    def executemany(self, sql, *args):
        self._texts.append(sql)
        return self._cursor.executemany(sql, *args)

    def __iter__(self):
        return iter(self._cursor)

    def __getattr__(self, name):
        return getattr(self._cursor, name)


@pytest.fixture
def sql_texts(app, monkeypatch) -> list:
    """The statement texts sent to the database from here on, in order (the statements still run).

    A database prepares and keeps a statement per distinct text (SQLite up to 128 per
    connection, psycopg's server-side prepares up to 100), so the number of distinct
    texts a code path sends is part of its memory cost."""
    texts: list = []
    real = db.database.obj.cursor
    monkeypatch.setattr(db.database.obj, "cursor", lambda *a, **k: _RecordingCursor(real(*a, **k), texts))
    return texts


@pytest.fixture
def client(app):
    return webtest.TestApp(app)


TEST_CATALOG = {
    "countries": [
        {"id": 0, "eng": "Russia", "rus": "Россия", "chn": "俄罗斯", "phone_code": 7},
        {"id": 1, "eng": "Ukraine", "rus": "Украина", "chn": "乌克兰", "phone_code": 380},
        {"id": 187, "eng": "USA", "rus": "США", "chn": "美国", "phone_code": 1},
    ],
    "services": [{"code": "tg", "name": "Telegram"}, {"code": "wa", "name": "WhatsApp"},
                 {"code": "ot", "name": "Any other"}],
    "prices": [{"service": "tg", "country": 0, "cost": "1.50"}, {"service": "wa", "country": 0, "cost": "2.00"},
               {"service": "ot", "country": 0, "cost": "0.25"}, {"service": "tg", "country": 187, "cost": "3.00"}],
}
RU_PHONES = ["79000000001", "79000000002", "79000000003", "79180000004", "79180000005"]


@dataclass
class Seed:
    key: str
    account_id: int
    clock: FakeClock

    def add_key(self, scopes: str = "balance,prices,purchase,cancel", limit: int = 600, account_id=None) -> str:
        with db.connection(), db.write_transaction():
            _, plaintext = keys.issue_key(account_id or self.account_id, scopes, limit, int(self.clock()))
        return plaintext

    def add_account(self, email: str, balance: int) -> int:
        with db.connection(), db.write_transaction():
            account = create_account(email, int(self.clock()))
            if balance:
                wallet.credit(account.id, balance, "topup", int(self.clock()))
        return account.id


@pytest.fixture
def seed(app, clock) -> Seed:
    """Test catalog, 5 Russian + 2 US numbers, a customer with 100.00 and an all-scope key."""
    now = int(clock())
    with db.connection():
        import_catalog(TEST_CATALOG)
        operators = ["mts", "mts", "beeline", "tele2", "mts"]
        add_numbers([{"phone": p, "country": 0, "operator": o} for p, o in zip(RU_PHONES, operators)]
                    + [{"phone": "12025550101", "country": 187, "operator": "any"},
                       {"phone": "12025550102", "country": 187, "operator": "any"}], now)
    result = Seed(key="", account_id=0, clock=clock)
    result.account_id = result.add_account("customer@example.com", 10_000)
    result.key = result.add_key()
    return result


class Api:
    """Calls the handler the way clients do and returns exact (status, content type, body)."""

    def __init__(self, client, key):
        self.client = client
        self.key = key

    def __call__(self, action=None, method="GET", key="default", **params):
        query = {} if action is None else {"action": action}
        if key is not None:
            query["api_key"] = self.key if key == "default" else key
        query.update({k: str(v) for k, v in params.items()})
        if method == "GET":
            resp = self.client.get("/stubs/handler_api.php", params=query, expect_errors=True)
        else:
            resp = self.client.post("/stubs/handler_api.php", params=query, expect_errors=True)
        return resp.status_int, resp.headers.get("Content-Type"), resp.body.decode("utf-8")

    def body(self, action, **params) -> str:
        status, _, body = self(action, **params)
        assert status == 200, body
        return body


@pytest.fixture
def api(client, seed) -> Api:
    return Api(client, seed.key)


KEY_PATTERN = re.compile(r"ypv_[0-9a-f]{64}")


@pytest.fixture
def ypv_server(tmp_path, request):
    """Live gunicorn on the test backend, demo catalog, early cancel allowed at once."""
    return live_server(tmp_path, request, env={"YPV_EARLY_CANCEL_SECONDS": "0"})


def live_server(tmp_path, request, env=None, demo=True, setup=None, database_url=None) -> YpvServer:
    """Start a real gunicorn; when the test ends, stop it and check it wrote no key anywhere.

    ``setup(server)`` runs ypv commands against its database before it starts;
    ``database_url`` defaults to the test backend's fresh database.
    """
    url = database_url or request.getfixturevalue("database_url")
    server = YpvServer(tmp_path / "live" if database_url is None else tmp_path, database_url=url, env=env)
    request.addfinalizer(lambda: _stop_and_check_secrets(server))
    if setup is not None:
        server.cli("db", "init")
        setup(server)
    return server.start(demo=demo)


def _stop_and_check_secrets(server: YpvServer) -> None:
    server.stop()
    for path in server.workdir.rglob("*"):
        if path.is_file():
            assert not KEY_PATTERN.search(path.read_bytes().decode("latin-1")), f"a key leaked into {path}"
