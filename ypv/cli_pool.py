"""``ypv numbers …`` and ``ypv sms …``: the pool and the SMS that flow into it."""

import sys

from ypv import db, money, numbers, sms
from ypv.catalog import Catalog
from ypv.errors import NotFound
from ypv.models import CodePattern


def cmd_numbers_import(args, config):
    with db.connection():
        added = numbers.import_csv(args.file, args.now)
    print(f"imported {added} new number(s)")


def cmd_numbers_export(args, config):
    with db.connection():
        if args.file in (None, "-"):
            count = numbers.export_csv(sys.stdout)
        else:
            with open(args.file, "w", newline="", encoding="utf-8") as handle:
                count = numbers.export_csv(handle)
    print(f"exported {count} number(s)", file=sys.stderr)


def cmd_numbers_retire(args, config):
    with db.connection():
        numbers.set_active(args.phone, False)
    print(f"retired {args.phone}")


def cmd_numbers_activate(args, config):
    with db.connection():
        numbers.set_active(args.phone, True)
    print(f"activated {args.phone}")


def cmd_numbers_stock(args, config):
    catalog = Catalog(ttl=1e-9)
    with db.connection():
        print("country\tservice\tprice\tfree")
        for (country, service), cost in sorted(catalog.prices().items()):
            if args.country is None or country == args.country:
                print(f"{country}\t{service}\t{money.render(cost)}\t{catalog.count(country, service)}")


def cmd_sms_deliver(args, config):
    with db.connection():
        rental_id = sms.deliver(args.phone, args.text, args.now, sender=args.sender)
    print(f"delivered to rental {rental_id}" if rental_id else "stored; no live rental on that number")


def cmd_sms_unrouted(args, config):
    with db.connection():
        for message in sms.unrouted(args.limit):
            text = message.text.replace("\n", " ")
            print(f"{message.id}\t{message.received_at}\t{message.phone}\t{message.sender or '-'}\t{text}")


def cmd_sms_pattern_add(args, config):
    service = None if args.service == "*" else args.service
    with db.connection():
        row = sms.add_pattern(service, args.pattern, args.now)
    print(f"pattern {row.id} added for {args.service}")


def cmd_sms_pattern_list(args, config):
    with db.connection():
        for row in CodePattern.select().order_by(CodePattern.id):
            print(f"{row.id}\t{row.service_id or '*'}\t{row.pattern}")


def cmd_sms_pattern_remove(args, config):
    with db.connection():
        if CodePattern.delete().where(CodePattern.id == args.id).execute() != 1:
            raise NotFound(f"no pattern {args.id}")
    print(f"pattern {args.id} removed")


def register(add) -> None:
    add("numbers import", cmd_numbers_import, "add numbers from CSV (phone,country[,operator[,active]])",
        (["file"], {}))
    add("numbers export", cmd_numbers_export, "write the pool as CSV (to FILE or stdout)",
        (["file"], {"nargs": "?"}))
    add("numbers retire", cmd_numbers_retire, "take a number out of stock", (["phone"], {}))
    add("numbers activate", cmd_numbers_activate, "put a retired number back in stock", (["phone"], {}))
    add("numbers stock", cmd_numbers_stock, "free numbers per service × country",
        (["--country"], {"type": int}))
    add("sms deliver", cmd_sms_deliver, "deliver an SMS to a number (as the webhook does)",
        (["phone"], {}), (["text"], {}), (["--sender"], {}))
    add("sms unrouted", cmd_sms_unrouted, "SMS that reached no live rental, newest first",
        (["--limit"], {"type": int, "default": 100}))
    add("sms pattern add", cmd_sms_pattern_add, "add a code pattern for SERVICE (* = every service)",
        (["service"], {}), (["pattern"], {}))
    add("sms pattern list", cmd_sms_pattern_list, "list code patterns")
    add("sms pattern remove", cmd_sms_pattern_remove, "remove a code pattern", (["id"], {"type": int}))
