"""The web dashboard for customers and the operator, mounted at ``/`` beside the handler API.

Customer pages live under ``/dashboard``, the operator's under ``/admin``; sign-in
pages at the top (``/login``, ``/signup``, ``/password/…``). See docs/dashboard.md.
"""

from pathlib import Path

from ypv.dashboard import admin, auth, customer
from ypv.dashboard.web import Site

STATIC = Path(__file__).with_name("static")

ROUTES = {
    "/": auth.Home,
    "/login": auth.Login,
    "/logout": auth.Logout,
    "/signup": auth.Signup,
    "/signup/confirm": auth.SignupConfirm,
    "/password": auth.ChangePassword,
    "/password/forgot": auth.ForgotPassword,
    "/password/reset": auth.ResetPassword,
    "/dashboard": customer.Overview,
    "/dashboard/api": customer.ApiKeys,
    "/dashboard/api/keys/{key_id:int}/revoke": customer.KeyRevoke,
    "/dashboard/rentals": customer.RentalHistory,
    "/dashboard/wallet": customer.WalletHistory,
    "/admin": admin.AdminHome,
    "/admin/requests": admin.KeyRequests,
    "/admin/requests/{key_id:int}/approve": admin.ApproveRequest,
    "/admin/requests/{key_id:int}/deny": admin.DenyRequest,
    "/admin/accounts": admin.Accounts,
    "/admin/accounts/{account_id:int}": admin.AccountView,
    "/admin/accounts/{account_id:int}/credit": admin.AccountCredit,
    "/admin/accounts/{account_id:int}/status": admin.AccountStatus,
    "/admin/invites": admin.Invite,
    "/admin/catalog": admin.CatalogGlance,
    "/admin/rentals": admin.RentalSearch,
}


def mount(app, clock, mailer=None) -> Site:
    """Add every dashboard route and the stylesheet to ``app`` (a YpvApp); returns the shared Site."""
    site = Site(app.config, clock, mailer=mailer, catalog=app.catalog)
    for path, resource in ROUTES.items():
        app.add_route(path, resource(site))
    app.add_static_route("/static", str(STATIC))
    return site
