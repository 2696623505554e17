"""Pool management: import/export (CSV), retire and re-activate, stock per service × country.

CSV columns: ``phone,country[,operator[,active]]``; a header line is allowed.
Import adds numbers it does not know yet and leaves existing ones untouched, so
re-importing an old file never re-activates a number the operator retired.
"""

import csv

from peewee import chunked

from ypv import db
from ypv.errors import NotFound
from ypv.models import Country, Number
from ypv.sms import normalize_phone

COLUMNS = ("phone", "country", "operator", "active")
_FALSE = ("0", "false", "no", "retired")


def add_numbers(rows: list[dict], now: int) -> int:
    """Insert numbers, skipping phones already in the pool; returns how many were new."""
    before = Number.select().count()
    with db.write_transaction():
        for batch in chunked(rows, 500):
            Number.insert_many([{**r, "created_at": now} for r in batch]).on_conflict_ignore().execute()
    return Number.select().count() - before


def read_csv(path: str) -> list[dict]:
    """Parse and validate every row first, so a bad file imports nothing."""
    known = {c for (c,) in Country.select(Country.id).tuples()}
    rows, errors = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() in ("", "phone"):
                continue
            parsed = _row(row, known)
            if isinstance(parsed, str):
                errors.append(f"line {line_no}: {parsed}")
            else:
                rows.append(parsed)
    if errors:
        raise ValueError("\n".join(errors))
    return rows


def _row(row: list[str], known: set) -> dict | str:
    """One CSV row as a number, or the reason it is not one."""
    cells = [c.strip() for c in row] + [""] * (4 - len(row))
    phone = normalize_phone(cells[0])
    if not 7 <= len(phone) <= 15:
        return f"{cells[0]!r} is not a phone number"
    if not cells[1].isdigit() or int(cells[1]) not in known:
        return f"unknown country {cells[1]!r}"
    return {"phone": phone, "country": int(cells[1]), "operator": cells[2].lower() or "any",
            "active": cells[3].lower() not in _FALSE}


def import_csv(path: str, now: int) -> int:
    return add_numbers(read_csv(path), now)


def export_csv(handle) -> int:
    """Write the whole pool (retired numbers included) in the import format."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for phone, country, operator, active in (Number.select(Number.phone, Number.country, Number.operator,
                                                           Number.active).order_by(Number.id).tuples()):
        writer.writerow((phone, country, operator, 1 if active else 0))
        count += 1
    return count


def set_active(phone: str, active: bool) -> None:
    """Retire a number (no new rentals; a live one runs to its end) or put it back in stock."""
    with db.write_transaction():
        if Number.update(active=active).where(Number.phone == normalize_phone(phone)).execute() != 1:
            raise NotFound(f"no number {phone!r} in the pool")
