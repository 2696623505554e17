"""The e-mails ypv sends, as plain text. Each function returns a message ready for a mailer.

The API key letter is the only place a plaintext key is ever written after the
approval: it is built here, handed to the transport and dropped.
"""

from email.message import EmailMessage

from ypv.config import Config
from ypv.mail import compose
from ypv.models import ApiKey

SIGNATURE = "\n\n-- \nypv\n"


def key_approved(config: Config, to: str, key: ApiKey, plaintext: str) -> EmailMessage:
    label = f' "{key.label}"' if key.label else ""
    body = (
        f"Your API key{label} has been approved.\n\n"
        f"    {plaintext}\n\n"
        f"Scopes: {key.scopes.replace(',', ', ')}\n"
        f"Limit: {key.rate_limit} requests per minute\n\n"
        "Store it safely - it is never shown again. We store only a SHA-256 hash of it,\n"
        "so nobody can send it to you a second time. If it is lost or leaked, revoke it\n"
        "from your dashboard (API page) and request a new one; revoked keys stop working\n"
        "immediately.\n\n"
        f"In your dashboard it is listed as {key.prefix}…"
    )
    return compose(config.mail_from, to, "Your ypv API key", body + SIGNATURE)


def confirm_signup(config: Config, to: str, link: str) -> EmailMessage:
    body = ("Someone (we hope you) asked to open a ypv account with this address.\n\n"
            f"Choose your password here to finish (the link works once, for 24 hours):\n\n    {link}\n\n"
            "If it was not you, ignore this message and no account will be created.")
    return compose(config.mail_from, to, "Confirm your ypv account", body + SIGNATURE)


def invitation(config: Config, to: str, link: str) -> EmailMessage:
    body = ("You are invited to open a ypv account.\n\n"
            f"Choose your password here (the link works once, for 7 days):\n\n    {link}")
    return compose(config.mail_from, to, "Your invitation to ypv", body + SIGNATURE)


def already_registered(config: Config, to: str, login_link: str, reset_link: str) -> EmailMessage:
    body = ("Someone asked to open a ypv account with this address, but you already have one.\n\n"
            f"Log in:  {login_link}\n"
            f"Forgot your password? Choose a new one (the link works once, for an hour):\n\n    {reset_link}\n\n"
            "If it was not you, ignore this message: nothing has changed.")
    return compose(config.mail_from, to, "You already have a ypv account", body + SIGNATURE)


def password_reset(config: Config, to: str, link: str) -> EmailMessage:
    body = ("Someone (we hope you) asked to reset the password of your ypv account.\n\n"
            f"Choose a new one here (the link works once, for an hour):\n\n    {link}\n\n"
            "If it was not you, ignore this message: your password has not changed.")
    return compose(config.mail_from, to, "Reset your ypv password", body + SIGNATURE)


def key_sender(mailer, config: Config):
    """The ``deliver`` callback ``keys.approve_request`` needs: mail the key or raise MailError."""
    def deliver(to: str, key: ApiKey, plaintext: str) -> None:
        mailer.send(key_approved(config, to, key, plaintext))
    return deliver
