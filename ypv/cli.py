"""The ``ypv`` operator command: thin wrappers over the domain functions.

Every command reads YPV_DATABASE_URL; errors go to stderr with exit status 1
(2 for usage errors); money arguments are decimal strings such as 25.50.
"""

import argparse
import json
import os
import sys
import time

from ypv import accounts, backup, catalog, cli_pool, cli_upstream, db, demo, key_cache, keys, money, rentals, schema
from ypv import wallet
from ypv import cli_accounts  # account and key-request commands (dashboard accounts)
from ypv.config import Config, ConfigError
from ypv.errors import ApiError, NotFound
from ypv.key_epoch import EpochUnavailable
from ypv.models import Account, ApiKey



def cmd_db_init(args, config):
    schema.create_tables()
    print(f"database ready: {_redacted(config.database_url)}")


def cmd_demo(args, config):
    schema.create_tables()
    with db.connection():
        result = demo.run_demo(args.now, config.default_rate_limit)
    host = config.bind if not config.bind.startswith("unix:") else "127.0.0.1:8080"
    print(f"demo account: {result['email']}  balance: {money.render(result['balance'])}")
    print(f"catalog: {result['prices']} prices; numbers added: {result['numbers_added']}")
    print(f"demo key (shown once): {result['key']}")
    print(f"try: curl 'http://{host}/stubs/handler_api.php?api_key={result['key']}&action=getBalance'")


def cmd_account_add(args, config):
    with db.connection(), db.write_transaction():
        account = accounts.create_account(args.email, args.now, is_admin=args.admin)
    print(f"account {account.email} created (id {account.id}{', admin' if args.admin else ''})")


def cmd_wallet_topup(args, config):
    amount = money.parse_amount(args.amount)
    if amount == 0:
        raise ValueError("amount must be above zero")
    with db.connection(), db.write_transaction():
        account = accounts.find_account(args.email)
        wallet.credit(account.id, amount, "topup", args.now, note=args.note)
        print(f"{account.email}: +{money.render(amount)}, balance {money.render(wallet.balance(account.id))}")


def cmd_key_issue(args, config):
    limit = config.default_rate_limit if args.limit is None else args.limit
    if limit < 1:
        raise ValueError(f"--limit {limit} must be at least 1 request per minute")
    with db.connection(), db.write_transaction():
        account = accounts.find_account(args.email)
        row, plaintext = keys.issue_key(account, args.scopes, limit, args.now, label=args.label)
    print(plaintext)
    print(f"key {row.prefix} for {account.email}: scopes {row.scopes}, {limit}/min (shown once)",
          file=sys.stderr)


def cmd_key_revoke(args, config):
    with db.connection():
        count = keys.revoke_key(args.prefix, args.now)
    print(f"revoked {count} key(s) {args.prefix}")


def cmd_key_list(args, config):
    with db.connection():
        query = ApiKey.select(ApiKey, Account.email).join(Account).order_by(ApiKey.id)
        if args.email:
            query = query.where(Account.email == accounts.find_account(args.email).email)
        for k in query:
            print(f"{k.id}\t{k.prefix or '-'}\t{k.account.email}\t{k.status}\t{k.scopes}\t{k.rate_limit}/min\t{k.label}")


def cmd_catalog_import(args, config):
    with open(args.file, encoding="utf-8") as handle:
        data = json.load(handle)
    with db.connection():
        counts = catalog.import_catalog(data)
    print("imported " + ", ".join(f"{n} {what}" for what, n in counts.items()))


def cmd_price_set(args, config):
    cost = money.parse_amount(args.amount)
    with db.connection(), db.write_transaction():
        catalog.set_price(args.service, int(args.country), cost)
    print(f"price {args.service}/{args.country} = {money.render(cost)}")


def cmd_expire(args, config):
    with db.connection():
        count = rentals.expire_due(args.now)
    print(f"expired {count} rental(s)")


def cmd_ledger_check(args, config):
    with db.connection():
        problems = wallet.ledger_mismatches()
    for line in problems:
        print(line)
    if problems:
        print(f"ledger check FAILED: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    print("ledger check ok")
    return 0


def cmd_backup(args, config):
    target = backup.backup(config.database_url, args.path, keep=args.keep)
    print(f"backup written: {target} ({target.stat().st_size} bytes, integrity ok)")


def cmd_restore(args, config):
    with key_cache.cache.changing_keys():  # any key may differ in the backup: servers forget theirs
        saved = backup.restore(config.database_url, args.path)
    if saved:
        print(f"previous database saved as {saved}")
    print(f"restored {args.path}; now run: ypv ledger check")


def cmd_serve(args, config):
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:ypv.gunicorn_settings",
                               "ypv.wsgi:app"])


def _redacted(url: str) -> str:
    return url.split("@")[-1] if "@" in url else url


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ypv", description="Operate a ypv instance.")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(path, func, help_text, *arguments):
        words = path.split()
        target = sub
        for word in words[:-1]:
            target = _group(target, word)
        command = target.add_parser(words[-1], help=help_text)
        for names, options in arguments:
            command.add_argument(*names, **options)
        command.set_defaults(func=func)

    add("db init", cmd_db_init, "create the tables from schema.sql")
    add("demo", cmd_demo, "load the demo catalog, numbers and account; print a key")
    add("account add", cmd_account_add, "create an account", (["email"], {}),
        (["--admin"], {"action": "store_true"}))
    add("wallet topup", cmd_wallet_topup, "add money to an account", (["email"], {}), (["amount"], {}),
        (["--note"], {}))
    add("key issue", cmd_key_issue, "issue an API key (printed once)", (["email"], {}),
        (["--scopes"], {"default": ",".join(keys.SCOPES)}), (["--limit"], {"type": int}),
        (["--label"], {"default": ""}))
    add("key revoke", cmd_key_revoke, "revoke a key by prefix or id", (["prefix"], {}))
    add("key list", cmd_key_list, "list keys", (["email"], {"nargs": "?"}))
    add("catalog import", cmd_catalog_import, "import countries, services, prices (JSON)", (["file"], {}))
    add("price set", cmd_price_set, "set a price", (["service"], {}), (["country"], {}), (["amount"], {}))
    add("expire", cmd_expire, "expire rentals past their lifetime")
    add("ledger check", cmd_ledger_check, "verify balances against the ledger (exit 1 on mismatch)")
    add("backup", cmd_backup, "consistent online copy of the SQLite database (PATH: new file or directory)",
        (["path"], {}), (["--keep"], {"type": int, "help": "with a directory: keep the newest N backups"}))
    add("restore", cmd_restore, "replace the SQLite database with a backup (stop the service first)",
        (["path"], {}))
    add("serve", cmd_serve, "run the service under gunicorn (YPV_BIND)")
    cli_pool.register(add)
    cli_accounts.register(add)
    cli_upstream.register(add)
    return parser


def _group(sub, word):
    """Find or create the sub-parser group for a command word such as 'key'."""
    existing = sub.choices.get(word)
    if existing is None:
        existing = sub.add_parser(word)
        existing.add_subparsers(dest=f"{word}_command", required=True)
    return next(a for a in existing._actions if isinstance(a, argparse._SubParsersAction))


def main(argv=None, clock=time.time) -> int:
    """Run one command; tests pass their own ``clock`` so the CLI and the app share one "now"."""
    args = build_parser().parse_args(argv)
    args.now = int(clock())
    try:
        config = Config.from_env()
        db.open_database(config.database_url)
        key_cache.cache.attach(config.key_epoch_file)
        return args.func(args, config) or 0
    except (ConfigError, ValueError, NotFound, EpochUnavailable) as exc:
        print(f"ypv: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file named on the command line cannot be read or written
        print(f"ypv: {exc.strerror or exc}: {exc.filename}", file=sys.stderr)
        return 1
    except ApiError as exc:
        print(f"ypv: {exc.body}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
