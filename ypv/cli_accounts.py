"""``ypv account …`` and ``ypv key …`` for dashboard accounts and key requests.

Thin wrappers over the same domain functions the dashboard calls. An approved
key goes to the customer by e-mail (YPV_SMTP_URL, or .eml files in YPV_MAIL_DIR)
and is never printed: if the e-mail fails, nothing is approved.
"""

import sys

from ypv import accounts, db, email_tokens, keys, letters
from ypv.mail import MailError, make_mailer



def cmd_account_password(args, config):
    """The password comes from stdin (first line), never from argv where `ps` and shell history see it."""
    password = sys.stdin.readline().rstrip("\r\n")
    with db.connection(), db.write_transaction():
        account = accounts.find_account(args.email)
        accounts.set_password(account.id, password)
    print(f"password set for {account.email}")


def cmd_account_disable(args, config):
    _set_disabled(args.email, True)


def cmd_account_enable(args, config):
    _set_disabled(args.email, False)


def _set_disabled(email: str, disabled: bool) -> None:
    with db.connection():
        account = accounts.find_account(email)
        accounts.set_disabled(account.id, disabled)
    what = "disabled: its keys and sessions stop working" if disabled else "enabled"
    print(f"account {account.email} {what}")


def cmd_account_invite(args, config):
    email = accounts.normalize_email(args.email)
    base = config.public_url or f"http://{config.bind}"
    try:
        with db.connection(), db.write_transaction():
            if accounts.Account.get_or_none(accounts.Account.email == email):
                raise ValueError(f"{email} already has an account")
            token = email_tokens.create(email, "invite", args.now)
            make_mailer(config).send(letters.invitation(config, email, f"{base}/signup/confirm?token={token}"))
    except MailError as exc:
        print(f"ypv: invitation not sent: {exc}", file=sys.stderr)
        return 1
    print(f"invitation sent to {email}")
    return 0


def cmd_key_requests(args, config):
    with db.connection():
        pending = keys.pending_requests()
    for row in pending:
        print(f"{row.id}\t{row.account.email}\t{row.scopes}\t{row.rate_limit}/min\t{row.label}")
    if not pending:
        print("no pending key requests", file=sys.stderr)


def cmd_key_approve(args, config):
    deliver = letters.key_sender(make_mailer(config), config)
    try:
        with db.connection():
            request = _pending(args.id)
            row = keys.approve_request(args.id, args.scopes or request.scopes, args.limit or request.rate_limit,
                                       args.now, deliver)
    except MailError as exc:
        print(f"ypv: nothing approved: the e-mail with the key could not be sent: {exc}", file=sys.stderr)
        return 1
    print(f"approved key {row.prefix} for {row.account.email}: scopes {row.scopes}, {row.rate_limit}/min; "
          "e-mailed once")
    return 0


def cmd_key_deny(args, config):
    with db.connection():
        _pending(args.id)
        keys.deny_request(args.id, args.reason, args.now)
    print(f"denied key request {args.id}")


def _pending(key_id: int):
    row = keys.ApiKey.get_or_none((keys.ApiKey.id == key_id) & (keys.ApiKey.status == "pending"))
    if row is None:
        raise keys.NotFound(f"no pending key request {key_id}")
    return row


def register(add) -> None:
    add("account password", cmd_account_password, "set a password (read from stdin)", (["email"], {}))
    add("account disable", cmd_account_disable, "disable an account: its keys and sessions stop", (["email"], {}))
    add("account enable", cmd_account_enable, "enable a disabled account", (["email"], {}))
    add("account invite", cmd_account_invite, "e-mail a sign-up invitation", (["email"], {}))
    add("key requests", cmd_key_requests, "list pending key requests (oldest first)")
    add("key approve", cmd_key_approve, "approve a key request; the key is e-mailed once",
        (["id"], {"type": int}), (["--scopes"], {}), (["--limit"], {"type": int}))
    add("key deny", cmd_key_deny, "deny a key request; the customer sees the reason",
        (["id"], {"type": int}), (["--reason"], {"required": True}))
