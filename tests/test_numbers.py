"""Pool management through the ypv command: import/export round trip, retire, stock, unrouted SMS."""

import pytest

from ypv import db
from ypv.cli import main
from ypv.models import Number


@pytest.fixture
def ypv(monkeypatch, database_url, capsys, seed, clock):
    """Run `ypv ARGS` against the test database; returns (exit code, stdout, stderr)."""
    monkeypatch.setenv("YPV_DATABASE_URL", database_url)

    def run(*args):
        code = main(list(args), clock=clock)
        out, err = capsys.readouterr()
        return code, out, err
    return run


def _pool():
    with db.connection():
        return list(Number.select(Number.phone, Number.country, Number.operator, Number.active)
                    .order_by(Number.phone).tuples())


def test_export_import_round_trip(ypv, tmp_path, database_url):
    assert ypv("numbers", "retire", "+7 918 000-00-05") == (0, "retired +7 918 000-00-05\n", "")
    exported = tmp_path / "pool.csv"
    assert ypv("numbers", "export", str(exported)) == (0, "", "exported 7 number(s)\n")
    assert exported.read_text().splitlines() == [
        "phone,country,operator,active",
        "79000000001,0,mts,1", "79000000002,0,mts,1", "79000000003,0,beeline,1", "79180000004,0,tele2,1",
        "79180000005,0,mts,0", "12025550101,187,any,1", "12025550102,187,any,1"]
    before = _pool()
    with db.connection():
        Number.delete().execute()
    assert ypv("numbers", "import", str(exported)) == (0, "imported 7 new number(s)\n", "")
    assert _pool() == before
    assert ypv("numbers", "import", str(exported)) == (0, "imported 0 new number(s)\n", "")


def test_export_to_stdout(ypv):
    code, out, err = ypv("numbers", "export")
    assert (code, out.splitlines()[:2], err) == (0, ["phone,country,operator,active", "79000000001,0,mts,1"],
                                                 "exported 7 number(s)\n")


def test_a_bad_file_imports_nothing(ypv, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("79990000001,0\nnot-a-phone,0\n79990000002,42\n")
    assert ypv("numbers", "import", str(bad)) == (
        1, "", "ypv: line 2: 'not-a-phone' is not a phone number\nline 3: unknown country '42'\n")
    assert len(_pool()) == 7


def test_retired_numbers_leave_stock_and_come_back(ypv, api):
    assert ypv("numbers", "stock", "--country", "187") == (0, "country\tservice\tprice\tfree\n187\ttg\t3.00\t2\n", "")
    ypv("numbers", "retire", "12025550101")
    assert ypv("numbers", "stock", "--country", "187")[1].splitlines()[1] == "187\ttg\t3.00\t1"
    assert api.body("getNumber", service="tg", country=187) == "ACCESS_NUMBER:1:12025550102"
    assert api.body("getNumber", service="tg", country=187) == "NO_NUMBERS"
    ypv("numbers", "activate", "12025550101")
    assert api.body("getNumber", service="tg", country=187) == "ACCESS_NUMBER:2:12025550101"
    assert ypv("numbers", "retire", "555") == (1, "", "ypv: no number '555' in the pool\n")


def test_stock_table(ypv, api):
    api.body("getNumber", service="tg")
    assert ypv("numbers", "stock")[1] == ("country\tservice\tprice\tfree\n0\tot\t0.25\t4\n0\ttg\t1.50\t4\n"
                                          "0\twa\t2.00\t4\n187\ttg\t3.00\t2\n")


def test_sms_deliver_and_unrouted(ypv, api):
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    assert ypv("sms", "deliver", "+7 900 000 00 01", "Code 12345") == (0, f"delivered to rental {rental_id}\n", "")
    assert ypv("sms", "deliver", "79990000000", "Your code 4242", "--sender", "Bank") == \
        (0, "stored; no live rental on that number\n", "")
    code, out, _ = ypv("sms", "unrouted")
    assert code == 0 and out.endswith("\t79990000000\tBank\tYour code 4242\n") and out.count("\n") == 1


def test_code_patterns(ypv, api):
    assert ypv("sms", "pattern", "add", "tg", r"key (\d{4})") == (0, "pattern 1 added for tg\n", "")
    assert ypv("sms", "pattern", "add", "*", r"(\d)(\d)") == (
        1, "", "ypv: a pattern may have at most one group (the code)\n")
    assert ypv("sms", "pattern", "list") == (0, "1\ttg\tkey (\\d{4})\n", "")
    rental_id, phone = api.body("getNumber", service="tg").split(":")[1:]
    ypv("sms", "deliver", phone, "order 5555 key 6666")
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:6666"
    assert ypv("sms", "pattern", "remove", "1") == (0, "pattern 1 removed\n", "")
    assert ypv("sms", "pattern", "remove", "1") == (1, "", "ypv: no pattern 1\n")
