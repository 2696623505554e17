"""The per-request log line, /metrics, /healthz and the trusted-proxy rule, in-process."""

import io
import json
import logging
import re
import sys

import pytest
import webtest

from tests.conftest import KEY_PATTERN
from ypv import logs
from ypv.app import create_app
from ypv.config import Config, ConfigError
from ypv.health import sweeper_status
from ypv.metrics import DatabaseCollector
from ypv.observability import TrustedProxies

HANDLER = "/stubs/handler_api.php"


def _request_records(caplog):
    return [r for r in caplog.records if r.name == "ypv.request"]


def test_one_line_per_request_with_id_action_token_prefix_and_latency(api, seed, caplog):
    caplog.set_level(logging.INFO, logger="ypv.request")
    resp = api.client.get(HANDLER, params={"api_key": seed.key, "action": "getBalance"},
                          extra_environ={"REMOTE_ADDR": "127.0.0.1"})
    assert resp.body == b"ACCESS_BALANCE:100.00"
    [record] = _request_records(caplog)
    fields = dict(record.fields)
    assert isinstance(fields.pop("ms"), float)
    assert fields == {"rid": resp.headers["X-Request-Id"], "client": "127.0.0.1", "method": "GET",
                      "path": HANDLER, "action": "getBalance", "token": "ACCESS_BALANCE",
                      "key": seed.key[:16], "status": 200}
    assert re.fullmatch(r"[0-9a-f]{16}", fields["rid"])
    message = record.getMessage()
    assert message.startswith(f"rid={fields['rid']} client=127.0.0.1 method=GET path={HANDLER} "
                              f"action=getBalance token=ACCESS_BALANCE key={seed.key[:16]} status=200 ms=")
    assert seed.key not in message


def test_bad_key_and_unknown_action_log_no_prefix_and_a_bounded_action(api, seed, caplog):
    caplog.set_level(logging.INFO, logger="ypv.request")
    api("getBalance", key="ypv_" + "a" * 64)
    api("no-such-action-" + seed.key)
    bad_key, unknown = (r.fields for r in _request_records(caplog))
    assert (bad_key["action"], bad_key["token"], bad_key["key"]) == ("getBalance", "BAD_KEY", "-")
    assert (unknown["action"], unknown["token"], unknown["key"]) == ("unknown", "BAD_ACTION", seed.key[:16])
    assert not any(KEY_PATTERN.search(r.getMessage()) for r in caplog.records)


def test_a_key_in_the_path_is_cut_to_its_prefix(client, seed, caplog):
    caplog.set_level(logging.INFO, logger="ypv.request")
    client.get(f"/{seed.key}", expect_errors=True)
    [record] = _request_records(caplog)
    assert record.fields["path"] == f"/{seed.key[:16]}…"
    assert record.fields["status"] == 404


def test_json_log_format_puts_the_fields_at_top_level(api, seed):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    logs.configure("json", stream=stream)
    try:
        api("getNumber", service="tg", country=0)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    [line] = [json.loads(x) for x in stream.getvalue().splitlines() if '"ypv.request"' in x]
    assert set(line) == {"time", "level", "logger", "rid", "client", "method", "path", "action", "token",
                         "key", "status", "ms"}
    assert (line["level"], line["action"], line["token"], line["key"]) == (
        "INFO", "getNumber", "ACCESS_NUMBER", seed.key[:16])


@pytest.mark.parametrize("log_format", ["text", "json"])
@pytest.mark.parametrize("created", [1_790_000_000.0, 1_790_000_000.999, 1_790_000_001.5])
def test_a_request_line_written_directly_is_what_logging_makes_of_its_record(log_format, created):
    formatter = logs.JsonFormatter() if log_format == "json" else logs.TextFormatter()
    fields = {"rid": "00ff", "client": "127.0.0.1", "path": "/stubs/handler_api.php", "status": 429, "ms": 0.1}
    record = logging.LogRecord("ypv.request", logging.INFO, __file__, 0, logs.fields_text(fields), None, None)
    record.created, record.msecs, record.fields = created, (created - int(created)) * 1000 // 1, fields
    assert formatter.fields_line(created, "ypv.request", fields) == formatter.format(record)


class _Records(logging.Handler):
    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_request_lines_bypass_logging_records_only_while_ypvs_handler_is_the_only_one(api, seed, monkeypatch):
    stream, extra = io.StringIO(), _Records()
    made = []
    request_log = logging.getLogger("ypv.request")
    monkeypatch.setattr(request_log, "makeRecord", lambda *a, **k: made.append(a) or logging.Logger.makeRecord(
        request_log, *a, **k))
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    logs.configure("text", stream=stream)
    try:
        api("getBalance")
        assert made == []
        root.addHandler(extra)  # anything else listening: the record goes through logging
        api("getBalance")
        assert len(made) == 1 and [r.fields["token"] for r in extra.records] == ["ACCESS_BALANCE"]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [line for line in stream.getvalue().splitlines() if " ypv.request: " in line]
    assert len(lines) == 2
    for line in lines:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ypv.request: rid=[0-9a-f]{16} "
                            r"client=127.0.0.1 method=GET path=/stubs/handler_api.php action=getBalance "
                            rf"token=ACCESS_BALANCE key={seed.key[:16]} status=200 ms=[\d.]+", line), line


def test_client_address_comes_from_x_forwarded_for_only_via_a_trusted_proxy():
    proxies = TrustedProxies(("127.0.0.1", "10.0.0.0/8"))
    assert proxies.client_address("127.0.0.1", "203.0.113.9") == "203.0.113.9"
    assert proxies.client_address("198.51.100.7", "203.0.113.9") == "198.51.100.7"
    # a client-written entry left of the proxy's own is never believed
    assert proxies.client_address("127.0.0.1", "6.6.6.6, 203.0.113.9") == "203.0.113.9"
    assert proxies.client_address("127.0.0.1", "6.6.6.6, 203.0.113.9, 10.1.2.3") == "203.0.113.9"
    assert proxies.client_address("127.0.0.1", None) == "127.0.0.1"
    assert proxies.client_address("127.0.0.1", "not-an-ip") == "not-an-ip"
    assert "garbage" not in proxies


def test_request_id_from_the_proxy_is_kept_only_when_the_proxy_is_trusted(database_url):
    app = create_app(Config(database_url=database_url, trusted_proxies=("10.0.0.1",)))
    client = webtest.TestApp(app)
    nginx_id = "0123456789abcdef0123456789abcdef"
    headers = {"X-Request-Id": nginx_id, "X-Forwarded-For": "203.0.113.9"}
    trusted = client.get("/healthz", headers=headers, extra_environ={"REMOTE_ADDR": "10.0.0.1"}, expect_errors=True)
    stranger = client.get("/healthz", headers=headers, extra_environ={"REMOTE_ADDR": "10.0.0.2"}, expect_errors=True)
    assert trusted.headers["X-Request-Id"] == nginx_id
    assert re.fullmatch(r"[0-9a-f]{16}", stranger.headers["X-Request-Id"])


def test_metrics_count_requests_latency_rejections_rentals_sales_and_refunds(app, api, seed, client, clock):
    slow_key = seed.add_key(limit=1)
    api("getBalance")
    api("getBalance")
    api("getBalance", key=slow_key)
    assert api("getBalance", key=slow_key)[0] == 429
    rental = api.body("getNumber", service="tg", country=0).split(":")[1]
    api.body("getNumber", service="wa", country=0)
    clock.advance(121)
    assert api.body("setStatus", id=rental, status=8) == "ACCESS_CANCEL"
    resp = client.get("/metrics")
    assert re.fullmatch(r"text/plain; version=[0-9.]+; charset=utf-8", resp.headers["Content-Type"])
    lines = set(resp.text.splitlines())
    assert {
        'ypv_requests_total{action="getBalance",token="ACCESS_BALANCE"} 3.0',
        'ypv_requests_total{action="getBalance",token="TOO_MANY_REQUESTS"} 1.0',
        'ypv_requests_total{action="getNumber",token="ACCESS_NUMBER"} 2.0',
        'ypv_requests_total{action="setStatus",token="ACCESS_CANCEL"} 1.0',
        'ypv_request_duration_seconds_count{action="getBalance"} 4.0',
        'ypv_limiter_rejections_total 1.0',
        'ypv_rentals{state="waiting"} 1.0',
        'ypv_rentals{state="cancelled"} 1.0',
        'ypv_rentals{state="finished"} 0.0',
        'ypv_sales_total 2.0',
        'ypv_sales_amount_minor_units_total 350.0',
        'ypv_refunds_total 1.0',
        'ypv_refunds_amount_minor_units_total 150.0',
    } <= lines
    assert '# TYPE ypv_request_duration_seconds histogram' in lines


def test_database_series_are_cached_between_scrapes(app, seed, api):
    now = [100.0]
    collector = DatabaseCollector(cache_seconds=5, clock=lambda: now[0])
    first = {m.name: m.samples[0].value for m in collector.collect() if m.name == "ypv_sales"}
    api.body("getNumber", service="tg", country=0)
    now[0] += 4.9
    assert {m.name: m.samples[0].value for m in collector.collect() if m.name == "ypv_sales"} == first
    now[0] += 0.1
    assert {m.name: m.samples[0].value for m in collector.collect() if m.name == "ypv_sales"} == {"ypv_sales": 1}


def test_healthz_without_a_sweeper_is_503(client):
    resp = client.get("/healthz", expect_errors=True)
    assert (resp.status_int, resp.headers["Content-Type"], resp.body) == (
        503, "application/json; charset=utf-8", b'{"status":"fail","database":"ok","sweeper":"off"}')


def test_healthz_reports_an_unreachable_database(tmp_path):
    app = create_app(Config(database_url=f"sqlite:///{tmp_path}/missing-dir/ypv.sqlite3"))
    resp = webtest.TestApp(app).get("/healthz", expect_errors=True)
    assert (resp.status_int, resp.body) == (503, b'{"status":"fail","database":"unreachable","sweeper":"off"}')


class _StubSweeper:
    def __init__(self, alive=True, last_run=None, started_at=0.0, now=100.0):
        self.last_run, self.started_at, self._alive, self._now = last_run, started_at, alive, now

    def is_alive(self):
        return self._alive

    def clock(self):
        return self._now


@pytest.mark.parametrize("sweeper, expected", [
    (None, "off"),
    (_StubSweeper(alive=False, last_run=99.0), "dead"),
    (_StubSweeper(last_run=99.0), "ok"),
    (_StubSweeper(last_run=70.0), "ok"),           # 30 s: still within the grace period
    (_StubSweeper(last_run=69.0), "stalled"),
    (_StubSweeper(last_run=None, started_at=80.0), "ok"),
    (_StubSweeper(last_run=None, started_at=60.0), "stalled"),  # started, never succeeded
])
def test_sweeper_status(sweeper, expected):
    assert sweeper_status(sweeper, interval=1.0) == expected


def test_healthz_is_ok_with_a_live_sweeper(database_url):
    app = create_app(Config(database_url=database_url), start_sweeper=True)
    try:
        resp = webtest.TestApp(app).get("/healthz")
        assert resp.body == b'{"status":"ok","database":"ok","sweeper":"ok"}'
    finally:
        app.stop_background()  # a loop left running would sweep later tests' databases


@pytest.mark.parametrize("env, message", [
    ({"YPV_LOG_FORMAT": "xml"}, "YPV_LOG_FORMAT='xml' must be text or json"),
    ({"YPV_TRUSTED_PROXIES": "10.0.0.0/8, nginx"}, "YPV_TRUSTED_PROXIES: 'nginx' is not an IP address or network"),
])
def test_operations_settings_are_validated(env, message):
    with pytest.raises(ConfigError) as error:
        Config.from_env(env)
    assert str(error.value) == message


def test_operations_settings_parse():
    assert Config.from_env({}).trusted_proxies == ("127.0.0.1", "::1")
    assert Config.from_env({"YPV_TRUSTED_PROXIES": "none"}).trusted_proxies == ()
    config = Config.from_env({"YPV_TRUSTED_PROXIES": "10.0.0.0/8, ::1", "YPV_LOG_FORMAT": "JSON"})
    assert (config.trusted_proxies, config.log_format) == (("10.0.0.0/8", "::1"), "json")


@pytest.mark.parametrize("created", [1_790_000_000.0, 1_790_000_000.999, 1_790_000_001.5, 1_790_000_000.25])
def test_text_lines_keep_the_standard_format_with_the_time_made_once_a_second(created):
    """The text formatter remembers the time's text per second; lines must be what
    logging.Formatter(TEXT_FORMAT) writes, whichever second came before."""
    formatter = logs.TextFormatter()
    for when in (created - 1, created, created):  # a cached earlier second, then the same one twice
        record = logging.LogRecord("ypv.request", logging.INFO, __file__, 0, "rid=ab", None, None)
        record.created, record.msecs = when, (when - int(when)) * 1000 // 1
        assert formatter.format(record) == logging.Formatter(logs.TEXT_FORMAT).format(record)


def test_text_lines_with_arguments_or_a_traceback_are_the_standard_format_too():
    formatter, standard = logs.TextFormatter(), logging.Formatter(logs.TEXT_FORMAT)
    try:
        raise ValueError("boom")
    except ValueError:
        exc_info = sys.exc_info()
    for args, exc in ((("worker", 3), None), ((), exc_info)):
        record = logging.LogRecord("ypv.app", logging.ERROR, __file__, 7, "%s %d failed" if args else "failed",
                                   args or None, exc)
        expected = standard.format(record)
        record.exc_text = None  # what the standard formatter cached: the fallback must make it again
        assert formatter.format(record) == expected
    assert "ValueError: boom" in expected
