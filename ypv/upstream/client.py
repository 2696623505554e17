"""One call to an upstream SMS-Activate-compatible API, classified.

Every outcome is one of three things, because the buying code must treat them
differently:
- an answer (``Answer``): the upstream said something we understood;
- ``Refused``: it definitely did nothing (connection refused, a known error token);
- ``Ambiguous``: it may have acted (timeout, dropped connection, 5xx, an HTML page,
  garbage). After an ambiguous getNumber a number may have been sold.
The API key travels in the query string as the protocol requires; it is never
put into an exception message or a log line.
"""

import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

# Tokens that mean "I did nothing" on any SMS-Activate-compatible API.
REFUSALS = frozenset({
    "NO_NUMBERS", "NO_BALANCE", "BAD_KEY", "BAD_ACTION", "BAD_SERVICE", "BAD_COUNTRY", "BAD_STATUS",
    "NO_ACTIVATION", "WRONG_ACTIVATION_ID", "EARLY_CANCEL_DENIED", "ORDER_ALREADY_EXISTS", "BANNED",
    "WRONG_MAX_PRICE", "ERROR_SQL", "TOO_MANY_REQUESTS", "BAD_SCOPE", "WRONG_SERVICE", "NO_KEY",
})
MAX_BODY = 4 * 1024 * 1024


class UpstreamFailure(Exception):
    """Base of the two failure kinds; ``reason`` is safe to log (no key, no body dump)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Refused(UpstreamFailure):
    """The upstream certainly did not act. ``token`` is its error token, if it sent one."""

    def __init__(self, reason: str, token: str | None = None):
        super().__init__(reason)
        self.token = token


class Ambiguous(UpstreamFailure):
    """The upstream may have acted; the caller must reconcile."""


@dataclass(frozen=True)
class Answer:
    body: str

    @property
    def token(self) -> str:
        return self.body.split(":", 1)[0]

    @property
    def value(self) -> str:
        return self.body.split(":", 1)[1] if ":" in self.body else ""

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise Ambiguous("not JSON where JSON was expected") from None


class UpstreamClient:
    def __init__(self, url: str, api_key: str, timeout: float):
        self.url = url
        self.api_key = api_key
        self.timeout = timeout

    def call(self, action: str, **params) -> Answer:
        """GET one action; a known error token raises Refused, anything odd raises Ambiguous."""
        query = urllib.parse.urlencode({"api_key": self.api_key, "action": action,
                                        **{k: v for k, v in params.items() if v is not None}})
        try:
            with urllib.request.urlopen(f"{self.url}?{query}", timeout=self.timeout) as response:
                raw = response.read(MAX_BODY)
        except urllib.error.HTTPError as error:
            if error.code == 429:
                raise Refused("rate limited (HTTP 429)", "TOO_MANY_REQUESTS") from None
            raise Ambiguous(f"HTTP {error.code}") from None
        except urllib.error.URLError as error:
            if isinstance(error.reason, ConnectionRefusedError):
                raise Refused("connection refused") from None
            raise Ambiguous(f"network error: {type(error.reason).__name__}") from None
        except (socket.timeout, TimeoutError):
            raise Ambiguous(f"no answer within {self.timeout:g}s") from None
        except (ConnectionError, OSError) as error:
            raise Ambiguous(f"connection dropped: {type(error).__name__}") from None
        return _classify(raw)


def _classify(raw: bytes) -> Answer:
    try:
        body = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise Ambiguous("undecodable answer") from None
    if body.startswith("{") or body.startswith("["):
        error = _json_error(body)
        if error:
            raise Refused(f"answered {error}", error)
        return Answer(body)
    if not body or "<" in body or len(body) > 10_000:
        raise Ambiguous("an HTML page or garbage instead of a token")
    token = body.split(":", 1)[0]
    if token in REFUSALS:
        raise Refused(f"answered {token}", token)
    if not token.replace("_", "").isalpha() or not token.isupper():
        raise Ambiguous("garbage instead of a token")
    return Answer(body)


def _json_error(body: str) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and data.get("status") == "error":
        return str(data.get("error") or data.get("message") or "ERROR")[:40]
    return None
