"""The application factory: wires the database, catalog, limiter and routes."""

import logging
import time

import falcon

from ypv import dashboard, db, key_cache, observability, openapi
from ypv.api import HandlerApi
from ypv.catalog import Catalog
from ypv.config import Config
from ypv.limiter import RateLimiter
from ypv.sweeper import Sweeper
from ypv.upstream.worker import UpstreamWorker
from ypv.webhook import SmsWebhook

log = logging.getLogger(__name__)

HANDLER_PATH = "/stubs/handler_api.php"


class YpvApp(falcon.App):
    """falcon.App plus the collaborators tests and operators need to reach."""

    config: Config
    catalog: Catalog
    limiter: RateLimiter
    sweeper: Sweeper | None = None
    upstream_worker: UpstreamWorker | None = None

    def stop_background(self) -> None:
        """Stop the sweeper and the upstream worker (tests; gunicorn just exits)."""
        for loop in (self.sweeper, self.upstream_worker):
            if loop is not None:
                loop.stop()


def create_app(config: Config, clock=time.time, start_sweeper: bool = False) -> YpvApp:
    """Build the WSGI app. Opens no connection: each request takes one from the pool."""
    db.open_database(config.database_url)
    key_cache.cache.attach(config.key_epoch_file)
    app = YpvApp()
    app.req_options.strip_url_path_trailing_slash = True
    app.config = config
    app.catalog = Catalog(ttl=config.stock_cache_seconds, refresh_at=0.75)  # rebuilt before it expires
    app.limiter = RateLimiter(clock=clock)
    app.add_route(HANDLER_PATH, HandlerApi(config, app.catalog, app.limiter, clock))
    app.add_route("/webhooks/sms", SmsWebhook(config.webhook_secret, clock))
    app.add_route(openapi.PATH, openapi.OpenApiDocument())  # docs/openapi.yaml, for tools such as schemathesis
    app.dashboard = dashboard.mount(app, clock)  # customer and operator pages: /login, /dashboard, /admin
    if start_sweeper:
        app.sweeper = Sweeper(config, clock).start()
        app.upstream_worker = UpstreamWorker(config, clock).start()  # idle until an upstream is added
    observability.install(app)  # request log line, metrics, /healthz, /metrics
    return app
