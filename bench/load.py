"""Bulk-load a Dataset straight into SQLite or PostgreSQL (not through the API: a
million rentals through HTTP would take longer than the bench itself).

Both: tables first, rows, then the plain indexes and the triggers (building an index
once is far cheaper than maintaining it row by row; a price trigger per loaded row
would only bump price_version 30,000 times). SQLite: one transaction of executemany
without a journal, for the load only (the service reopens the file in WAL with
its own pragmas). PostgreSQL: COPY with the foreign-key triggers off (the rows
are consistent by construction; the smoke test runs `ypv ledger check` on them),
then the identity sequences are moved past the loaded ids and the tables analysed.
"""

import sqlite3
import uuid

import psycopg

from bench.dataset import Dataset
from ypv.schema import schema_sql, statements, trigger_statements

# Parents before children, for the foreign keys.
ORDER = ("country", "service", "price", "number", "account", "api_key", "rental", "ledger")
IDENTITY_TABLES = ("number", "account", "api_key", "rental", "ledger")


def _ddl(postgresql: bool) -> tuple[list, list]:
    """(tables, indexes and triggers): schema.sql split so the indexes are built, and the
    triggers created, after the load."""
    every = statements(schema_sql(postgresql))
    indexes = [s for s in every if s.upper().startswith("CREATE INDEX")]
    return [s for s in every if s not in indexes], indexes + trigger_statements(postgresql)


def load_sqlite(path: str, data: Dataset) -> str:
    tables, after = _ddl(postgresql=False)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-262144"):
            conn.execute(f"PRAGMA {pragma}")
        conn.execute("BEGIN")
        for statement in tables:
            conn.execute(statement)
        for table in ORDER:
            columns, rows = data.tables[table]
            marks = ",".join("?" * len(columns))
            conn.executemany(f"INSERT INTO {table} ({','.join(columns)}) VALUES ({marks})", rows)
        for statement in after:
            conn.execute(statement)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA journal_mode=wal")
    finally:
        conn.close()
    return f"sqlite:///{path}"


def create_pg_database(admin_url: str) -> str:
    name = f"ypv_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def load_postgresql(url: str, data: Dataset) -> str:
    tables, after = _ddl(postgresql=True)
    with psycopg.connect(url) as conn:
        conn.execute("SET session_replication_role = replica")  # no FK triggers during COPY
        for statement in tables:
            conn.execute(statement)
        for table in ORDER:
            columns, rows = data.tables[table]
            with conn.cursor().copy(f"COPY {table} ({','.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        for statement in after:
            conn.execute(statement)
        for table in IDENTITY_TABLES:
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                         f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {table}), false)")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return url
