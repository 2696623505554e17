"""``python -m bench.inprocess``: what one request costs in Python, without sockets or gunicorn.

The WSGI app is called directly in a loop, ypv's and the bare app's turn about,
on a fresh SQLite file: a key over its limit (the 429 path) and a getBalance.
Under wrk these costs are buried in socket and scheduling noise that moves a
ratio by ±0.08 from one run to the next on a small VM; in a loop a change of a
few microseconds shows. Prints microseconds per request, median of the rounds.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time


def _environ(query: str) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": "/stubs/handler_api.php", "QUERY_STRING": query,
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "127.0.0.1",
            "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr}


def _call(app, query: str) -> bytes:
    return b"".join(app(_environ(query), lambda status, headers: None))


def _ypv_app(workdir: str):
    """ypv on a new SQLite file, logging as the service does (to a file here); two keys."""
    os.environ["YPV_DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    from ypv import accounts, db, keys, logs, schema, wallet
    from ypv.app import create_app
    from ypv.config import Config

    config = Config.from_env()
    logs.configure(config.log_format, stream=open(os.path.join(workdir, "log"), "w", encoding="utf-8"))
    db.open_database(config.database_url)
    now = int(time.time())
    with db.connection():
        schema.create_tables()
        account = accounts.create_account("bench@example.com", now)
        wallet.credit(account.id, 100_000, "topup", now)
        _, limited = keys.issue_key(account, "balance", 1, now)
        _, free = keys.issue_key(account, "balance", 10_000_000, now)
    app = create_app(config)
    _call(app, f"api_key={limited}&action=getBalance")  # its one request this minute
    return app, {"429": f"api_key={limited}&action=getBalance", "getBalance": f"api_key={free}&action=getBalance"}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.inprocess", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="per round and app")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    from bench.bare_app import app as bare

    with tempfile.TemporaryDirectory() as workdir:
        ypv, queries = _ypv_app(workdir)
        expected = {"429": b"TOO_MANY_REQUESTS", "getBalance": b"ACCESS_BALANCE:1000.00"}
        print(f"{'request':<12}{'ypv µs':>9}{'bare µs':>9}   ({args.rounds} rounds × {args.requests:,} calls, median)")
        for name, query in queries.items():
            if _call(ypv, query) != expected[name]:
                raise SystemExit(f"ypv answered {_call(ypv, query)!r} to {name}")
            costs = {"ypv": [], "bare": []}
            for _ in range(args.rounds):
                for label, app in (("bare", bare), ("ypv", ypv)):
                    started = time.perf_counter()
                    for _ in range(args.requests):
                        _call(app, query)
                    costs[label].append((time.perf_counter() - started) / args.requests * 1e6)
            print(f"{name:<12}{statistics.median(costs['ypv']):>9.1f}{statistics.median(costs['bare']):>9.1f}")


if __name__ == "__main__":
    main()
