"""What an action returns, and the one place bodies are rendered."""

import json
from dataclasses import dataclass
from datetime import datetime, timezone

TEXT = "text/plain; charset=utf-8"
JSON = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Reply:
    body: object
    is_json: bool = False

    @property
    def token(self) -> str:
        """The outcome's wire token for logs and metrics: ACCESS_NUMBER, NO_BALANCE, JSON for catalog data."""
        if not self.is_json:
            return str(self.body).split(":", 1)[0]
        is_error = isinstance(self.body, dict) and self.body.get("status") == "error"
        return self.body["error"] if is_error else "JSON"

    def render(self) -> tuple[str, str]:
        """(content type, body text) — no trailing newline, compact JSON, UTF-8 as-is."""
        if self.is_json:
            return JSON, json.dumps(self.body, ensure_ascii=False, separators=(",", ":"))
        return TEXT, str(self.body)


@dataclass(frozen=True)
class RenderedJson(Reply):
    """A JSON body serialized and UTF-8 encoded earlier (a cached catalog answer): sent as it is,
    so a megabyte-long getPrices is neither rebuilt nor re-encoded for every request."""

    is_json: bool = True

    def render(self) -> tuple[str, bytes]:
        return JSON, self.body


def text(body: str) -> Reply:
    return Reply(body)


def as_json(body) -> Reply:
    return Reply(body, is_json=True)


def json_error(token: str) -> Reply:
    return as_json({"status": "error", "error": token})


def timestamp(unix_seconds: int) -> str:
    """UTC 'YYYY-MM-DD HH:MM:SS', the SMS-Activate time format."""
    return datetime.fromtimestamp(unix_seconds, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
