"""Signing in and out, sign-up by e-mail link, password reset and change.

No message tells whether an account exists: a failed login says "wrong e-mail or
password"; sign-up and "forgot password" always answer "check your inbox" (an
address that already has an account gets a different e-mail, not a different page).
"""

import logging

from ypv import accounts, db, email_tokens, letters, passwords, sessions
from ypv.dashboard.web import PUBLIC, SIGNED_IN, Page, Visit, home_of, safe_next
from ypv.mail import MailError
from ypv.models import Account

log = logging.getLogger(__name__)

BAD_LOGIN = "Wrong e-mail or password."
MAIL_DOWN = "We could not send the e-mail just now. Please try again in a few minutes."


def _too_many(visit: Visit, template: str, wait: int, **context) -> None:
    minutes = max(1, (wait + 59) // 60)
    visit.render(template, status=429, error=f"Too many attempts. Try again in {minutes} "
                                             f"minute{'s' if minutes > 1 else ''}.", **context)


class Home(Page):
    audience = PUBLIC

    def get(self, visit: Visit):
        if visit.account:
            return visit.redirect(home_of(visit.account))
        visit.render("home.html")


class Login(Page):
    audience = PUBLIC

    def get(self, visit: Visit):
        if visit.account:
            return visit.redirect(home_of(visit.account))
        visit.render("login.html", email="", next=visit.query("next"), error=None)

    def post(self, visit: Visit):
        email, target = visit.field("email").lower(), safe_next(visit.field("next"))
        context = {"email": email, "next": target or ""}
        wait = self.site.logins.wait_seconds(email, visit.address)
        if wait:
            return _too_many(visit, "login.html", wait, **context)
        account = accounts.check_login(email, visit.secret("password"))
        if account is None:
            self.site.logins.note(email, visit.address)
            return visit.render("login.html", status=401, error=BAD_LOGIN, **context)
        self.site.logins.forget(email)
        visit.sign_in(account)
        visit.redirect(target or home_of(account))


class Logout(Page):
    audience = SIGNED_IN

    def post(self, visit: Visit):
        visit.sign_out()
        visit.redirect("/login", notice="logged-out")


class Signup(Page):
    """Step 1: an e-mail address. The link in the mail leads to ``SignupConfirm``."""

    audience = PUBLIC

    def get(self, visit: Visit):
        if visit.account:
            return visit.redirect(home_of(visit.account))
        visit.render("signup.html", email="", error=None)

    def post(self, visit: Visit):
        if self.site.config.signup != "open":
            return visit.fail(403, "Sign-up is by invitation", "Ask the operator for an invitation.")
        try:
            email = accounts.normalize_email(visit.field("email"))
        except ValueError:
            return visit.render("signup.html", status=422, email=visit.field("email"),
                                error="Enter an e-mail address like name@example.com.")
        wait = self.site.mails.wait_seconds(email, visit.address)
        if wait:
            return _too_many(visit, "signup.html", wait, email=email)
        try:
            with db.write_transaction():
                self.site.mailer.send(self._letter(visit, email))
        except MailError as exc:
            log.warning("sign-up e-mail not sent: %s", exc)
            return visit.render("signup.html", status=503, email=email, error=MAIL_DOWN)
        self.site.mails.note(email, visit.address)
        visit.render("check_inbox.html", email=email, purpose="signup")

    def _letter(self, visit: Visit, email: str):
        config = self.site.config
        if Account.get_or_none(Account.email == email) is None:
            token = email_tokens.create(email, "signup", visit.now)
            return letters.confirm_signup(config, email, self.site.link(visit.req, f"/signup/confirm?token={token}"))
        token = email_tokens.create(email, "reset", visit.now)
        return letters.already_registered(config, email, self.site.link(visit.req, "/login"),
                                          self.site.link(visit.req, f"/password/reset?token={token}"))


class ChoosePassword(Page):
    """A page reached from an e-mailed link: show the form, check the link and the password twice.

    Subclasses name the link purposes they accept and ``finish`` (inside a write
    transaction, after the link was used) — create the account, or set the password.
    """

    audience = PUBLIC
    title = button = action = ""

    def purposes(self) -> tuple:
        raise NotImplementedError

    def get(self, visit: Visit):
        self._form(visit, visit.query("token"))

    def post(self, visit: Visit):
        token = visit.field("token")
        if self._form(visit, token, check=True):
            return
        try:
            with db.write_transaction():
                link = email_tokens.use(token, self.purposes(), visit.now)
                account = link and self.finish(visit, link)
                if account is None:
                    return _dead_link(visit)
        except ValueError:  # the address was registered meanwhile
            return visit.fail(409, "You already have an account", "Log in, or reset your password.")
        visit.sign_in(account)
        visit.redirect(home_of(account), notice=self.notice)

    def _form(self, visit: Visit, token: str, check: bool = False) -> bool:
        """Render the form (again, with the error) and return True, unless a POST may go on."""
        link = email_tokens.peek(token, self.purposes(), visit.now)
        if link is None:
            _dead_link(visit)
            return True
        error = _new_password_error(visit) if check else None
        if check and error is None:
            return False
        visit.render("choose_password.html", status=422 if error else 200, email=link.email, token=token,
                     error=error, title=self.title, action=self.action, button=self.button)
        return True


class SignupConfirm(ChoosePassword):
    """Step 2 of sign-up (also where invitations lead): the account is created with the password."""

    title, action, button, notice = "Choose your password", "/signup/confirm", "Create my account", "welcome"

    def purposes(self) -> tuple:
        return ("signup", "invite") if self.site.config.signup == "open" else ("invite",)

    def finish(self, visit: Visit, link) -> Account:
        return accounts.create_account(link.email, visit.now,
                                       password_hash=passwords.hash_password(visit.secret("password")))


class ForgotPassword(Page):
    audience = PUBLIC

    def get(self, visit: Visit):
        visit.render("forgot.html", email="", error=None)

    def post(self, visit: Visit):
        email = visit.field("email").lower()
        wait = self.site.mails.wait_seconds(email, visit.address)
        if wait:
            return _too_many(visit, "forgot.html", wait, email=email)
        self.site.mails.note(email, visit.address)
        account = Account.get_or_none((Account.email == email) & (Account.disabled == False))  # noqa: E712
        if account is not None:
            try:
                with db.write_transaction():
                    token = email_tokens.create(email, "reset", visit.now)
                    link = self.site.link(visit.req, f"/password/reset?token={token}")
                    self.site.mailer.send(letters.password_reset(self.site.config, email, link))
            except MailError as exc:  # the page must not differ from "no such account"; the log says why
                log.warning("password reset e-mail not sent: %s", exc)
        visit.render("check_inbox.html", email=email, purpose="reset")


class ResetPassword(ChoosePassword):
    """The link from "forgot password": a new password, and every old session ends."""

    title, action, button, notice = "Choose a new password", "/password/reset", "Set my new password", \
        "password-reset"

    def purposes(self) -> tuple:
        return ("reset",)

    def finish(self, visit: Visit, link) -> Account | None:
        account = Account.get_or_none((Account.email == link.email) & (Account.disabled == False))  # noqa: E712
        if account is not None:
            accounts.set_password(account.id, visit.secret("password"))
            sessions.end_all(account.id)
        return account


class ChangePassword(Page):
    audience = SIGNED_IN

    def get(self, visit: Visit):
        visit.render("password.html", error=None)

    def post(self, visit: Visit):
        me = visit.account
        wait = self.site.logins.wait_seconds(me.email, visit.address)
        if wait:
            return _too_many(visit, "password.html", wait)
        if not passwords.verify_password(me.password_hash, visit.secret("current")):
            self.site.logins.note(me.email, visit.address)
            return visit.render("password.html", status=401, error="Your current password is not right.")
        error = _new_password_error(visit)
        if error:
            return visit.render("password.html", status=422, error=error)
        with db.write_transaction():
            accounts.set_password(me.id, visit.secret("password"))
            sessions.end_all(me.id, keep_token=visit.session_token)
        visit.redirect(home_of(me), notice="password-changed")


def _new_password_error(visit: Visit) -> str | None:
    password = visit.secret("password")
    if password != visit.secret("password2"):
        return "The two passwords are not the same."
    try:
        passwords.check_new_password(password)
    except ValueError as exc:
        return str(exc)
    return None


def _dead_link(visit: Visit) -> None:
    visit.fail(410, "This link cannot be used",
               "It has expired or was already used. Links in our e-mails work once; ask for a new one.")
