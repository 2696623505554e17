"""Pool management: import numbers from CSV (phone,country[,operator])."""

import csv

from ypv.demo import add_numbers
from ypv.models import Country
from ypv.sms import normalize_phone


def read_csv(path: str) -> list[dict]:
    """Parse and validate every row first, so a bad file imports nothing."""
    known = {c for (c,) in Country.select(Country.id).tuples()}
    rows, errors = [], []
    with open(path, newline="", encoding="utf-8") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or row[0].strip().lower() in ("", "phone"):
                continue
            phone = normalize_phone(row[0])
            country = row[1].strip() if len(row) > 1 else ""
            operator = (row[2].strip().lower() if len(row) > 2 else "") or "any"
            if not 7 <= len(phone) <= 15:
                errors.append(f"line {line_no}: {row[0]!r} is not a phone number")
            elif not country.isdigit() or int(country) not in known:
                errors.append(f"line {line_no}: unknown country {country!r}")
            else:
                rows.append({"phone": phone, "country": int(country), "operator": operator})
    if errors:
        raise ValueError("\n".join(errors))
    return rows


def import_csv(path: str, now: int) -> int:
    return add_numbers(read_csv(path), now)
