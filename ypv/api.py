"""The SMS-Activate handler resource: ``/stubs/handler_api.php``.

Flow: merge parameters → authenticate → rate-limit → find the action → check
scope → run it → render. The order of checks is the protocol's; every outcome,
errors included, is HTTP 200 with a token, except 429 for the rate limit.
"""

import logging
import time

import falcon

from ypv import db, keys, params
from ypv.actions import ACTIONS
from ypv.catalog import Catalog
from ypv.config import Config
from ypv.context import Ctx
from ypv.errors import ApiError, BadAction, BadScope, ErrorSql, RateLimited
from ypv.limiter import RateLimiter
from ypv.reply import Reply, json_error, text

log = logging.getLogger(__name__)


class HandlerApi:
    def __init__(self, config: Config, catalog: Catalog, limiter: RateLimiter, clock=time.time):
        self.config = config
        self.catalog = catalog
        self.limiter = limiter
        self.clock = clock

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        p = _parameters(req)
        action = params.text(p, "action")
        entry = ACTIONS.get(action)
        # For the request's log line and metrics (ypv/observability.py): a bounded action name.
        req.context.action = action if entry is not None else "unknown"
        try:
            reply = self._dispatch(p, req, entry)
        except RateLimited as exc:
            resp.status = falcon.HTTP_429
            resp.set_header("Retry-After", str(exc.retry_after))
            reply = text(exc.token)
        except ApiError as exc:
            reply = _error_reply(exc, entry)
        except Exception:
            log.exception("request %s (action %r) failed", req.context.get("request_id"), action[:40])
            reply = _error_reply(ErrorSql(), entry)
        resp.content_type, body = reply.render()
        if isinstance(body, bytes):
            resp.data = body  # a cached catalog body, encoded once (ypv/catalog_actions.py)
        else:
            resp.text = body
        req.context.token = reply.token

    on_post = on_get

    def _dispatch(self, p: dict, req: falcon.Request, entry) -> Reply:
        key_hash = keys.checked_hash(_api_key(p, req))
        # A remembered key needs no database: a 429, or an action served from the catalog's
        # memory, then never touches it. The thread keeps its connection for its next request.
        key, read_under = keys.remembered(key_hash)
        balance = None
        if key is None:
            with db.connection(keep=True):
                key, balance = keys.look_up(key_hash, read_under)
        req.context.key_prefix = key.prefix  # never the key: only its public prefix reaches the log
        retry_after = self.limiter.hit(key.id, key.rate_limit)
        if retry_after is not None:
            raise RateLimited(retry_after)
        if entry is None:
            raise BadAction()
        function, scopes, _ = entry
        if not scopes & key.scopes:
            raise BadScope()
        now = int(self.clock())
        with db.connection(keep=True):
            keys.touch(key, now)
            return function(Ctx(key=key, now=now, config=self.config, catalog=self.catalog,
                                balance_read=balance), p)


def _parameters(req: falcon.Request) -> dict:
    query = params.parse_query(req.env.get("QUERY_STRING", ""))
    try:
        form = params.read_form(req.bounded_stream, req.content_type, req.content_length)
    except (falcon.HTTPError, ValueError):
        form = {}
    return params.merge(query, form)


def _api_key(p: dict, req: falcon.Request) -> str | None:
    key = params.text(p, "api_key")
    if key:
        return key
    scheme, _, value = (req.get_header("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() == "apikey" else None


def _error_reply(exc: ApiError, entry) -> Reply:
    """Catalog actions answer errors as JSON; BAD_ACTION and the rest as plain tokens."""
    if entry is not None and entry[2] and not isinstance(exc, BadAction):
        return json_error(exc.token)
    return text(exc.body)
