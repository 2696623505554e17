"""Sending e-mail: SMTP by URL, or ``.eml`` files in a folder for local use.

``YPV_SMTP_URL`` picks the transport:

- ``smtp://[user:pass@]host[:25]``            plain SMTP (AUTH only if credentials are given)
- ``smtp+starttls://[user:pass@]host[:587]``  STARTTLS, certificate verified
- ``smtps://[user:pass@]host[:465]``          TLS from the first byte, certificate verified

Unset, every message is written to ``YPV_MAIL_DIR`` (default ``var/mail``) as
one ``.eml`` file: that folder is the local mailbox. Failures raise ``MailError``
with a reason an operator can act on; the message itself is never logged.
"""

import logging
import smtplib
import ssl
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import unquote, urlparse

from ypv.config import Config

log = logging.getLogger(__name__)

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 15


class MailError(Exception):
    """The message was not accepted for delivery; ``str()`` says why, without secrets."""


def compose(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1].strip(">"))
    # Plain 7bit when the text is ASCII, so links and keys stay whole on one line in
    # the raw message (quoted-printable would wrap them with "=" at 76 characters).
    message.set_content(body, cte="7bit" if body.isascii() else "quoted-printable")
    return message


class SmtpMailer:
    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS):
        parsed = urlparse(url)
        self.scheme = parsed.scheme
        self.host = parsed.hostname or "localhost"
        self.port = parsed.port or DEFAULT_PORTS[parsed.scheme]
        self.username = unquote(parsed.username) if parsed.username else None
        self.password = unquote(parsed.password) if parsed.password else ""
        self.timeout = timeout

    def __repr__(self) -> str:  # never the password
        return f"SmtpMailer({self.scheme}://{self.host}:{self.port})"

    def send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as smtp:
                if self.username:
                    smtp.login(self.username, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPResponseException as exc:
            raise MailError(f"{self._where()} answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            raise MailError(f"{self._where()} refused the recipient: {code} {_text(text)}") from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, bad certificate…
            raise MailError(f"could not deliver through {self._where()}: {exc or type(exc).__name__}") from None
        if refused:
            raise MailError(f"{self._where()} refused {', '.join(refused)}")
        log.info("mail %r to %s sent through %s", message["Subject"], message["To"], self._where())

    def _connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context()
        if self.scheme == "smtps":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.scheme == "smtp+starttls":
            try:
                smtp.starttls(context=context)
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _where(self) -> str:
        return f"the SMTP server {self.host}:{self.port}"


class FileMailer:
    """Local development: each message becomes ``<time>-<id>.eml`` in ``folder``."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"FileMailer({str(self.folder)!r})"

    def send(self, message: EmailMessage) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
            path.write_bytes(message.as_bytes())
        except OSError as exc:
            raise MailError(f"could not write the message into {self.folder}: {exc.strerror or exc}") from None
        log.info("mail %r to %s written to %s", message["Subject"], message["To"], path)


def make_mailer(config: Config):
    if config.smtp_url:
        return SmtpMailer(config.smtp_url)
    return FileMailer(config.mail_dir)


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
