"""POST /webhooks/sms: signature, replay window, de-duplication, routing."""

import json

import pytest
import webtest

from ypv import db
from ypv.app import create_app
from ypv.models import Sms
from ypv.webhook import sign

SECRET = "s3cret-for-tests-0123456789"


@pytest.fixture
def hook(config, clock, seed, api):
    """A client for the webhook (signed like a gateway) on an app that shares the test database."""
    app = create_app(config.with_(webhook_secret=SECRET), clock=clock)
    client = webtest.TestApp(app)

    def post(payload, *, secret=SECRET, timestamp=None, raw=None, content_type="application/json",
             signature=None):
        body = raw if raw is not None else json.dumps(payload).encode()
        ts = str(int(clock()) if timestamp is None else timestamp)
        headers = {"X-YPV-Timestamp": ts, "X-YPV-Signature": signature or sign(secret, ts, body)}
        resp = client.post("/webhooks/sms", body, headers=headers, content_type=content_type, expect_errors=True)
        return resp.status_int, resp.json
    return post


def _stored():
    with db.connection():
        return list(Sms.select().order_by(Sms.id).tuples())


def test_sms_reaches_the_live_rental(hook, api):
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    status, body = hook({"id": "gw-1", "to": "+7 900 000-00-01", "from": "Telegram",
                         "text": "Telegram code: 51234", "received_at": "2026-09-21T14:13:20Z"})
    assert (status, body) == (200, {"status": "ok", "rental": int(rental_id)})
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:51234"


def test_form_encoded_body(hook, api):
    rental_id = api.body("getNumber", service="tg").split(":")[1]
    raw = "to=0079000000001&text=%D0%9A%D0%BE%D0%B4%3A+7788&from=TG".encode()
    assert hook(None, raw=raw, content_type="application/x-www-form-urlencoded") == \
        (200, {"status": "ok", "rental": int(rental_id)})
    assert api.body("getFullSms", id=rental_id) == "FULL_SMS:Код: 7788"


def test_retried_delivery_is_applied_once(hook, api):
    rental_id = int(api.body("getNumber", service="tg").split(":")[1])
    payload = {"id": "gw-7", "to": "79000000001", "text": "code 1111"}
    assert hook(payload) == (200, {"status": "ok", "rental": rental_id})
    assert api.body("setStatus", id=rental_id, status=3) == "ACCESS_RETRY_GET"
    assert hook(payload) == (200, {"status": "ok", "rental": rental_id})
    assert api.body("getStatus", id=rental_id) == "STATUS_WAIT_RETRY:1111"
    assert len(_stored()) == 1


def test_sms_after_set_status_3_moves_to_code_again(hook, api):
    rental_id = int(api.body("getNumber", service="tg").split(":")[1])
    hook({"id": "a", "to": "79000000001", "text": "code 1111"})
    api.body("setStatus", id=rental_id, status=3)
    assert hook({"id": "b", "to": "79000000001", "text": "code 2222"}) == (200, {"status": "ok", "rental": rental_id})
    assert api.body("getStatus", id=rental_id) == "STATUS_OK:2222"


def test_sms_without_a_rental_is_kept(hook):
    assert hook({"id": "x", "to": "79990000000", "from": "Bank", "text": "Your code 4242"}) == \
        (200, {"status": "ok", "rental": None})
    (row,) = _stored()
    assert row[1:6] == (None, "79990000000", "Bank", "Your code 4242", "4242")


@pytest.mark.parametrize("change", ["secret", "signature", "missing", "old", "future", "garbage-ts"])
def test_bad_signature_or_stale_timestamp_is_401_and_stores_nothing(hook, clock, change):
    payload = {"id": "x", "to": "79000000001", "text": "code 1234"}
    kwargs = {"secret": {"secret": "another-secret-0123456789"}, "signature": {"signature": "0" * 64},
              "missing": {"signature": " "}, "old": {"timestamp": int(clock()) - 301},
              "future": {"timestamp": int(clock()) + 301}, "garbage-ts": {"timestamp": "12ab"}}[change]
    status, body = hook(payload, **kwargs)
    assert status == 401 and body["status"] == "error"
    assert _stored() == []


def test_timestamp_at_the_edge_of_the_window_is_accepted(hook, clock):
    assert hook({"to": "79990000000", "text": "x"}, timestamp=int(clock()) - 300)[0] == 200


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"to": "79000000001"}', b'{"text": "x"}',
                                 b'{"to": "abc", "text": "x"}', b'{"to": "7900", "text": {"a": 1}}'])
def test_malformed_bodies_are_400(hook, raw):
    status, body = hook(None, raw=raw)
    assert status == 400 and body["status"] == "error"
    assert _stored() == []


def test_disabled_without_a_secret(client, seed):
    resp = client.post("/webhooks/sms", b"{}", expect_errors=True)
    assert resp.status_int == 404
    assert resp.json == {"status": "error", "error": "the SMS webhook is disabled (set YPV_WEBHOOK_SECRET)"}
