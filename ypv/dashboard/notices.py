"""The one-line confirmations shown after a redirect (``?notice=NAME``).

Only these fixed texts can appear, so a crafted link cannot put words on a page.
"""

NOTICES = {
    "welcome": "Welcome! Your account is ready.",
    "signed-in": "You are signed in.",
    "logged-out": "You are logged out.",
    "password-changed": "Password changed. Your other sessions were logged out.",
    "password-reset": "Your new password is set and you are signed in.",
    "key-requested": "Request sent. An admin approves keys, usually within 24 hours; "
                     "the key is then e-mailed to you once.",
    "key-revoked": "Key revoked. Requests with it now get BAD_KEY.",
    "approved": "Approved. The key was e-mailed to the customer; only its hash is kept.",
    "denied": "Denied. The customer sees your reason on their API page.",
    "credited": "Done. The change is in the account's ledger.",
    "disabled": "Account disabled: its keys stop working at once and its sessions are ended.",
    "enabled": "Account enabled. Its active keys work again.",
    "invited": "Invitation sent.",
}
