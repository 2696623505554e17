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
    return _one_time_link(config, to, "Confirm your ypv account",
                          "Someone (we hope you) asked to open a ypv account with this address.",
                          "Choose your password here to finish (the link works once, for 24 hours):", link,
                          "If it was not you, ignore this message and no account will be created.")


def invitation(config: Config, to: str, link: str) -> EmailMessage:
    return _one_time_link(config, to, "Your invitation to ypv", "You are invited to open a ypv account.",
                          "Choose your password here (the link works once, for 7 days):", link, "")


def password_reset(config: Config, to: str, link: str) -> EmailMessage:
    return _one_time_link(config, to, "Reset your ypv password",
                          "Someone (we hope you) asked to reset the password of your ypv account.",
                          "Choose a new one here (the link works once, for an hour):", link,
                          "If it was not you, ignore this message: your password has not changed.")


def already_registered(config: Config, to: str, login_link: str, reset_link: str) -> EmailMessage:
    return _one_time_link(config, to, "You already have a ypv account",
                          "Someone asked to open a ypv account with this address, but you already have one.\n\n"
                          f"Log in:  {login_link}",
                          "Forgot your password? Choose a new one (the link works once, for an hour):", reset_link,
                          "If it was not you, ignore this message: nothing has changed.")


def _one_time_link(config: Config, to: str, subject: str, intro: str, ask: str, link: str,
                   outro: str) -> EmailMessage:
    body = f"{intro}\n\n{ask}\n\n    {link}\n" + (f"\n{outro}" if outro else "")
    return compose(config.mail_from, to, subject, body.rstrip("\n") + SIGNATURE)


def key_sender(mailer, config: Config):
    """The ``deliver`` callback ``keys.approve_request`` needs: mail the key or raise MailError."""
    def deliver(to: str, key: ApiKey, plaintext: str) -> None:
        mailer.send(key_approved(config, to, key, plaintext))
    return deliver
