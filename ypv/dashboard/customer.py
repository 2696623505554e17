"""The customer's pages: overview, API keys, rentals history, wallet history.

Every query here is filtered by the signed-in account's id: a customer can name
another customer's key or rental in a URL and get exactly what a missing one gets.
"""

from ypv import db, keys, wallet
from ypv.dashboard.web import CUSTOMER, Page, Visit, page_number, paginate
from ypv.errors import NotFound
from ypv.models import LIVE_STATES, ApiKey, Ledger, Rental, Service

MAX_PENDING = 3


class Overview(Page):
    audience = CUSTOMER

    def get(self, visit: Visit):
        me = visit.account
        live = list(Rental.select(Rental, Service).join(Service)
                    .where((Rental.account == me.id) & Rental.state.in_(LIVE_STATES))
                    .order_by(Rental.id.desc()))
        active_keys = ApiKey.select().where((ApiKey.account == me.id) & (ApiKey.status == "active")).count()
        visit.render("overview.html", balance=wallet.balance(me.id), live=live, active_keys=active_keys,
                     now=visit.now)


class ApiKeys(Page):
    """The key list, the request form, and where to point a client."""

    audience = CUSTOMER

    def get(self, visit: Visit):
        self._show(visit)

    def post(self, visit: Visit):
        me = visit.account
        scopes = visit.scopes()
        pending = ApiKey.select().where((ApiKey.account == me.id) & (ApiKey.status == "pending")).count()
        try:
            if pending >= MAX_PENDING:
                raise ValueError(f"You already have {pending} requests waiting for approval.")
            if not scopes:
                raise ValueError("Choose at least one scope.")
            with db.write_transaction():
                keys.request_key(me.id, visit.field("label"), scopes, self.site.config.default_rate_limit,
                                 visit.now)
        except ValueError as exc:
            return self._show(visit, status=422, error=str(exc))
        visit.redirect("/dashboard/api", notice="key-requested")

    def _show(self, visit: Visit, status: int = 200, error: str | None = None):
        visit.render("api.html", status=status, error=error, keys=keys.keys_of(visit.account.id),
                     scopes=keys.SCOPES, handler_url=self.site.link(visit.req, "/stubs/handler_api.php"),
                     label=visit.field("label"))


class KeyRevoke(Page):
    """GET asks for confirmation; POST revokes (only this account's active keys)."""

    audience = CUSTOMER

    def _own_active_key(self, visit: Visit, key_id: int) -> ApiKey | None:
        return ApiKey.get_or_none((ApiKey.id == key_id) & (ApiKey.account == visit.account.id)
                                  & (ApiKey.status == "active"))

    def get(self, visit: Visit, key_id: int):
        key = self._own_active_key(visit, key_id)
        if key is None:
            return _no_such_key(visit)
        visit.render("revoke.html", key=key)

    def post(self, visit: Visit, key_id: int):
        try:
            keys.revoke_key(str(key_id), visit.now, account_id=visit.account.id)
        except NotFound:
            return _no_such_key(visit)
        visit.redirect("/dashboard/api", notice="key-revoked")


class RentalHistory(Page):
    audience = CUSTOMER

    def get(self, visit: Visit):
        page = page_number(visit)
        query = (Rental.select(Rental, Service).join(Service).where(Rental.account == visit.account.id)
                 .order_by(Rental.id.desc()))
        rows, older = paginate(query, page)
        visit.render("rentals.html", rows=rows, page=page, older=older)


class WalletHistory(Page):
    audience = CUSTOMER

    def get(self, visit: Visit):
        page = page_number(visit)
        query = Ledger.select().where(Ledger.account == visit.account.id).order_by(Ledger.id.desc())
        rows, older = paginate(query, page)
        visit.render("wallet.html", rows=rows, page=page, older=older, balance=wallet.balance(visit.account.id))


def _no_such_key(visit: Visit) -> None:
    visit.fail(404, "No such key", "There is no active key with that number on your account.")
