"""The operator's pages: key requests, accounts, the catalog, rentals search.

Only accounts with ``is_admin`` get past ``Page`` to these; each action calls the
same domain function as the CLI (keys.approve_request, wallet.credit, …).
"""

import logging

from ypv import accounts, db, email_tokens, keys, letters, money, wallet
from ypv.dashboard.web import ADMIN, Page, Visit
from ypv.errors import NoBalance, NotFound
from ypv.mail import MailError
from ypv.models import Account, Country, Ledger, Rental, Service

log = logging.getLogger(__name__)


class AdminHome(Page):
    audience = ADMIN

    def get(self, visit: Visit):
        visit.redirect("/admin/requests")


class KeyRequests(Page):
    audience = ADMIN

    def get(self, visit: Visit, status: int = 200, error: str | None = None):
        visit.render("admin_requests.html", status=status, error=error, requests=keys.pending_requests(),
                     scopes=keys.SCOPES)


class ApproveRequest(Page):
    audience = ADMIN

    def post(self, visit: Visit, key_id: int):
        scopes, limit = visit.scopes(), visit.field("limit")
        if not scopes or not limit.isdigit() or not 0 < int(limit) <= 1_000_000:
            return KeyRequests.get(self, visit, status=422,
                                   error="Choose at least one scope and a limit of 1 or more requests per minute.")
        deliver = letters.key_sender(self.site.mailer, self.site.config)
        try:
            keys.approve_request(key_id, scopes, int(limit), visit.now, deliver)
        except MailError as exc:
            log.warning("key request %s not approved: the e-mail failed: %s", key_id, exc)
            return KeyRequests.get(self, visit, status=502,
                                   error=f"Nothing was approved: the e-mail with the key could not be sent ({exc}).")
        except NotFound:
            return visit.fail(404, "Request already decided", "That request is no longer pending.")
        visit.redirect("/admin/requests", notice="approved")


class DenyRequest(Page):
    audience = ADMIN

    def post(self, visit: Visit, key_id: int):
        try:
            keys.deny_request(key_id, visit.field("reason"), visit.now)
        except NotFound:
            return visit.fail(404, "Request already decided", "That request is no longer pending.")
        except ValueError as exc:
            return KeyRequests.get(self, visit, status=422, error=str(exc))
        visit.redirect("/admin/requests", notice="denied")


class Accounts(Page):
    audience = ADMIN

    def get(self, visit: Visit, status: int = 200, error: str | None = None):
        found = accounts.search(visit.query("q"))
        visit.render("admin_accounts.html", status=status, error=error, found=found, q=visit.query("q"))


class Invite(Page):
    audience = ADMIN

    def post(self, visit: Visit):
        try:
            email = accounts.normalize_email(visit.field("email"))
            if Account.get_or_none(Account.email == email):
                raise ValueError(f"{email} already has an account.")
            with db.write_transaction():
                token = email_tokens.create(email, "invite", visit.now)
                link = self.site.link(visit.req, f"/signup/confirm?token={token}")
                self.site.mailer.send(letters.invitation(self.site.config, email, link))
        except ValueError as exc:
            return Accounts.get(self, visit, status=422, error=str(exc))
        except MailError as exc:
            return Accounts.get(self, visit, status=502, error=f"The invitation could not be sent ({exc}).")
        visit.redirect("/admin/accounts", notice="invited")


class AccountView(Page):
    audience = ADMIN

    def get(self, visit: Visit, account_id: int, status: int = 200, error: str | None = None):
        account = Account.get_or_none(Account.id == account_id)
        if account is None:
            return visit.fail(404, "No such account", "There is no account with that number.")
        visit.render("admin_account.html", status=status, error=error, account=account,
                     keys=keys.keys_of(account.id),
                     ledger=list(Ledger.select().where(Ledger.account == account.id)
                                 .order_by(Ledger.id.desc()).limit(20)),
                     rentals=list(Rental.select(Rental, Service).join(Service)
                                  .where(Rental.account == account.id).order_by(Rental.id.desc()).limit(20)))


class AccountCredit(Page):
    """Top up (positive) or adjust (either sign) a balance; the note goes into the ledger."""

    audience = ADMIN

    def post(self, visit: Visit, account_id: int):
        kind, note = visit.field("kind"), " ".join(visit.field("note").split())
        try:
            amount = _amount(visit.field("amount"), kind)
            if not note:
                raise ValueError("Write a note: it is kept in the ledger.")
            with db.write_transaction():
                if Account.get_or_none(Account.id == account_id) is None:
                    raise NotFound()
                wallet.credit(account_id, amount, kind, visit.now, note=note[:500])
        except NotFound:
            return visit.fail(404, "No such account", "There is no account with that number.")
        except NoBalance:
            return AccountView.get(self, visit, account_id, status=422,
                                   error="The balance cannot go below zero.")
        except ValueError as exc:
            return AccountView.get(self, visit, account_id, status=422, error=str(exc))
        visit.redirect(f"/admin/accounts/{account_id}", notice="credited")


class AccountStatus(Page):
    """Disable (its keys stop at once, its sessions end) or enable an account."""

    audience = ADMIN

    def post(self, visit: Visit, account_id: int):
        disable = visit.field("disabled") == "1"
        if Account.get_or_none(Account.id == account_id) is None:
            return visit.fail(404, "No such account", "There is no account with that number.")
        if disable and account_id == visit.account.id:
            return AccountView.get(self, visit, account_id, status=422, error="You cannot disable your own account.")
        accounts.set_disabled(account_id, disable)
        visit.redirect(f"/admin/accounts/{account_id}", notice="disabled" if disable else "enabled")


class CatalogGlance(Page):
    """Every price with its live stock, one row per service × country, filterable."""

    audience = ADMIN

    def get(self, visit: Visit):
        catalog = self.site.catalog
        service, country = visit.query("service"), visit.query("country")
        rows = []
        for (country_id, code), cost in sorted(catalog.prices().items()):
            if (service and code != service) or (country and str(country_id) != country):
                continue
            rows.append({"country": catalog.countries()[country_id], "service": code,
                         "name": catalog.services().get(code, code), "cost": cost,
                         "stock": catalog.count(country_id, code)})
        visit.render("admin_catalog.html", rows=rows, service=service, country=country,
                     services=catalog.services(), countries=list(Country.select().order_by(Country.eng)))


class RentalSearch(Page):
    """By rental id or phone number (digits only, so '+7 900…' works too); the latest 50 otherwise."""

    audience = ADMIN

    def get(self, visit: Visit):
        q = visit.query("q")
        digits = "".join(ch for ch in q if ch.isdigit())
        query = (Rental.select(Rental, Service, Account).join(Service).switch(Rental).join(Account)
                 .order_by(Rental.id.desc()).limit(50))
        if q:
            match = Rental.phone == digits
            if digits and len(digits) <= 10:
                match = match | (Rental.id == int(digits))
            query = query.where(match) if digits else query.where(Rental.id == 0)
        visit.render("admin_rentals.html", rows=list(query), q=q)


def _amount(text: str, kind: str) -> int:
    """The signed amount in minor units, or ValueError with a message for the operator."""
    try:
        amount = money.parse_signed_amount(text)
    except ValueError:
        raise ValueError("Enter an amount like 25.00 (or -5.50 for an adjustment).") from None
    if kind not in ("topup", "adjust"):
        raise ValueError("Choose top-up or adjustment.")
    if amount == 0:
        raise ValueError("The amount cannot be zero.")
    if kind == "topup" and amount < 0:
        raise ValueError("A top-up must be above zero; use an adjustment to take money away.")
    return amount
