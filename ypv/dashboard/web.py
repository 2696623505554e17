"""The dashboard's small framework: who is visiting, access rules, CSRF, rendering.

Every page is a resource class (a noun) with ``get(visit, …)`` and/or
``post(visit, …)``. ``Page`` opens one database connection per request, loads the
signed-in account from the session cookie, enforces the page's audience, rejects
a POST without a valid CSRF token, and sets the security headers.
"""

import functools
import time
from dataclasses import dataclass, field
from urllib.parse import quote

import falcon

from ypv import db, keys, params, sessions
from ypv.config import Config
from ypv.dashboard import csrf, notices
from ypv.dashboard.render import environment
from ypv.dashboard.throttle import Throttle
from ypv.mail import make_mailer
from ypv.models import Account
from ypv.observability import TrustedProxies

SESSION_COOKIE = "ypv_session"
PUBLIC, SIGNED_IN, CUSTOMER, ADMIN = "public", "signed-in", "customer", "admin"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # links in e-mails carry one-time tokens
    "Cache-Control": "no-store",
}


class Site:
    """What every page shares: settings, clock, mail, throttles, templates."""

    def __init__(self, config: Config, clock=time.time, mailer=None, catalog=None):
        self.config = config
        self.clock = clock
        self.mailer = mailer or make_mailer(config)
        self.catalog = catalog
        self.logins = Throttle(clock, per_account=5, per_address=30)
        self.mails = Throttle(clock, per_account=3, per_address=10)
        self.proxies = TrustedProxies(config.trusted_proxies)

    @functools.cached_property
    def templates(self):
        """The Jinja2 environment, made on the first page: a worker that only answers the
        handler API never imports Jinja2 (2.2 MiB of its memory). Two first pages at once
        may each make one; the spare is dropped."""
        return environment(self.config.currency)

    def now(self) -> int:
        return int(self.clock())

    def link(self, req: falcon.Request, path: str) -> str:
        """An absolute link for an e-mail: YPV_PUBLIC_URL, else the address the request came in on."""
        return (self.config.public_url or req.prefix) + path


@dataclass
class Visit:
    """One request as a page sees it."""

    req: falcon.Request
    resp: falcon.Response
    site: Site
    account: Account | None
    session_token: str | None
    csrf_secret: str
    form: dict = field(default_factory=dict)

    @property
    def now(self) -> int:
        return self.site.now()

    @property
    def address(self) -> str:
        """The client's address, found as the request log finds it (past YPV_TRUSTED_PROXIES)."""
        return self.site.proxies.client_address(self.req.remote_addr, self.req.get_header("X-Forwarded-For"))

    def field(self, name: str) -> str:
        return (self.form.get(name) or "").strip()

    def secret(self, name: str) -> str:
        """A password field exactly as typed (spaces count)."""
        return self.form.get(name) or ""

    def scopes(self) -> str:
        """The checked scope boxes (``scope_balance`` …) as 'balance,prices'."""
        return ",".join(s for s in keys.SCOPES if self.field(f"scope_{s}"))

    def query(self, name: str) -> str:
        return (self.req.get_param(name) or "").strip()

    def render(self, template: str, status: int = 200, **context) -> None:
        self.resp.status = falcon.code_to_http_status(status)
        self.resp.content_type = "text/html; charset=utf-8"
        notice = notices.NOTICES.get(self.query("notice"))
        self.resp.text = self.site.templates.get_template(template).render(
            visit=self, me=self.account, csrf_token=csrf.token_for(self.csrf_secret), notice=notice,
            signup_open=self.site.config.signup == "open", **context)

    def fail(self, status: int, title: str, message: str) -> None:
        self.render("error.html", status=status, title=title, message=message)

    def redirect(self, location: str, notice: str | None = None) -> None:
        if notice:
            location += ("&" if "?" in location else "?") + "notice=" + notice
        self.resp.status = falcon.HTTP_303
        self.resp.location = location

    def sign_in(self, account: Account) -> None:
        """A fresh session (never reuse one from before the login) and its cookie."""
        sessions.end(self.session_token)
        self.session_token = sessions.start(account.id, self.now)
        self.csrf_secret = self.session_token
        self.account = account
        self.set_cookie(SESSION_COOKIE, self.session_token, sessions.SESSION_SECONDS)

    def sign_out(self) -> None:
        sessions.end(self.session_token)
        self.session_token, self.account = None, None
        self.resp.unset_cookie(SESSION_COOKIE, path="/")

    def set_cookie(self, name: str, value: str, max_age: int | None) -> None:
        self.resp.set_cookie(name, value, max_age=max_age, path="/", secure=self.secure_cookies,
                             http_only=True, same_site="Lax")

    @property
    def secure_cookies(self) -> bool:
        setting = self.site.config.secure_cookies
        if setting != "auto":
            return setting == "on"
        forwarded = (self.req.get_header("X-Forwarded-Proto") or "").split(",")[0].strip().lower()
        return self.req.scheme == "https" or forwarded == "https"


class Page:
    """Base resource. Subclasses set ``audience`` and define ``get`` and/or ``post``."""

    audience = CUSTOMER
    get = None
    post = None

    def __init__(self, site: Site):
        self.site = site

    def on_get(self, req, resp, **kwargs):
        self._serve(self.get, req, resp, kwargs)

    def on_post(self, req, resp, **kwargs):
        self._serve(self.post, req, resp, kwargs)

    def _serve(self, handler, req, resp, kwargs) -> None:
        if handler is None:
            raise falcon.HTTPMethodNotAllowed([m for m in ("GET", "POST") if getattr(self, m.lower())])
        resp.set_headers(SECURITY_HEADERS)
        with db.connection():
            visit = self._visit(req, resp)
            if not self._admit(visit):
                return
            if req.method == "POST":
                visit.form = params.read_form(req.bounded_stream, req.content_type, req.content_length)
                if not csrf.is_valid(visit.csrf_secret, visit.form.get(csrf.FIELD)):
                    visit.fail(403, "This form has expired",
                               "For your safety the form could not be accepted. Go back, reload the page "
                               "and submit it again.")
                    return
            handler(visit, **kwargs)

    def _visit(self, req, resp) -> Visit:
        token = req.get_cookie_values(SESSION_COOKIE)
        token = token[0] if token else None
        account = sessions.account_for(token, int(self.site.clock()))
        visit = Visit(req, resp, self.site, account, token if account else None, "")
        if account is not None:
            visit.csrf_secret = token
        else:
            pre = req.get_cookie_values(csrf.COOKIE)
            visit.csrf_secret = pre[0] if pre else csrf.new_secret()
            if not pre:
                visit.set_cookie(csrf.COOKIE, visit.csrf_secret, None)
        return visit

    def _admit(self, visit: Visit) -> bool:
        """Enforce the audience: sign-in for private pages, operators only in /admin."""
        me = visit.account
        if self.audience == PUBLIC:
            return True
        if me is None:
            visit.redirect("/login?next=" + quote(visit.req.relative_uri, safe="/"))
            return False
        if self.audience == ADMIN and not me.is_admin:
            visit.fail(403, "Operators only", "This page belongs to the operator's area.")
            return False
        if self.audience == CUSTOMER and me.is_admin:
            visit.redirect("/admin")
            return False
        return True


def home_of(account: Account) -> str:
    return "/admin" if account.is_admin else "/dashboard"


def safe_next(target: str) -> str | None:
    """Only a path on this site (no //host, no scheme), so a login link cannot send people elsewhere."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def page_number(visit: Visit) -> int:
    raw = visit.query("page")
    return int(raw) if raw.isdigit() and 0 < int(raw) <= 100_000 else 1


def paginate(query, page: int, size: int = 20) -> tuple[list, bool]:
    """One page of rows and whether an older page exists."""
    rows = list(query.limit(size + 1).offset((page - 1) * size))
    return rows[:size], len(rows) > size
