"""``POST /webhooks/sms``: SMS pushed by SIM banks and GSM gateways.

Authenticated by a shared secret: ``X-YPV-Timestamp`` (unix seconds) and
``X-YPV-Signature`` = hex HMAC-SHA256 of ``<timestamp>.<raw body>``, compared in
constant time; a timestamp more than 300 s away is refused, so a captured
request cannot be replayed later. A retried delivery with the same ``id`` is
applied once and answered 200 again. Body: JSON or form-encoded
``{"id", "to", "from", "text", "received_at"}``.
"""

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timezone

import falcon

from ypv import db, sms
from ypv.params import parse_query

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
MAX_SKEW = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The signature a sender puts in X-YPV-Signature."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class WebhookError(Exception):
    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class SmsWebhook:
    def __init__(self, secret: str | None, clock=time.time):
        self.secret = secret
        self.clock = clock

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        try:
            body = self._verified_body(req)
            fields = _fields(body, req.content_type)
            with db.connection():
                rental = sms.deliver(fields["to"], fields["text"], int(self.clock()), sender=fields["from"],
                                     external_id=fields["id"], received_at=fields["received_at"])
            resp.media = {"status": "ok", "rental": rental}
        except WebhookError as exc:
            resp.status = exc.status
            resp.media = {"status": "error", "error": str(exc)}

    def _verified_body(self, req: falcon.Request) -> bytes:
        if not self.secret:
            raise WebhookError(falcon.HTTP_404, "the SMS webhook is disabled (set YPV_WEBHOOK_SECRET)")
        body = req.bounded_stream.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise WebhookError(falcon.HTTP_413, "body too large")
        timestamp = req.get_header("X-YPV-Timestamp") or ""
        signature = req.get_header("X-YPV-Signature") or ""
        if not timestamp.isdigit() or abs(self.clock() - int(timestamp)) > MAX_SKEW:
            raise WebhookError(falcon.HTTP_401, "missing or stale X-YPV-Timestamp")
        if not hmac.compare_digest(sign(self.secret, timestamp, body), signature.strip().lower()):
            raise WebhookError(falcon.HTTP_401, "bad signature")
        return body


def _fields(body: bytes, content_type: str | None) -> dict:
    """Validate the SMS fields; JSON or form-encoded."""
    try:
        if (content_type or "").startswith("application/json") or body.lstrip().startswith(b"{"):
            data = json.loads(body.decode("utf-8"))
        else:
            data = parse_query(body.decode("latin-1"))
    except (ValueError, UnicodeDecodeError):
        raise WebhookError(falcon.HTTP_400, "body is neither JSON nor form-encoded") from None
    if not isinstance(data, dict):
        raise WebhookError(falcon.HTTP_400, "body must be an object")
    to, text = _string(data, "to"), _string(data, "text")
    if not to or not sms.normalize_phone(to) or text is None:
        raise WebhookError(falcon.HTTP_400, "fields 'to' (a phone number) and 'text' are required")
    return {"to": to, "text": text, "from": _string(data, "from"), "id": _string(data, "id") or None,
            "received_at": _timestamp(data.get("received_at"))}


def _string(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > 4096:
        raise WebhookError(falcon.HTTP_400, f"field {name!r} must be a string")
    return value


def _timestamp(value) -> int | None:
    """ISO 8601 or unix seconds; anything else is ignored (the server's clock is used)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return int((parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp())
    return None
