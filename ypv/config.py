"""Configuration: one frozen object built from ``YPV_*`` environment variables.

Every setting is validated at start-up so a typo fails loudly with a message that
names the variable, instead of surfacing later as a strange protocol answer.
"""

import ipaddress
import os
import re
from dataclasses import dataclass, field, replace

# ISO 4217 numeric codes of the currencies we render with two decimals.
CURRENCIES = {"USD": 840, "EUR": 978, "RUB": 643, "GBP": 826, "KZT": 398, "UAH": 980, "CNY": 156, "INR": 356}

DEFAULT_DATABASE_URL = "sqlite:///ypv.sqlite3"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Config:
    database_url: str = DEFAULT_DATABASE_URL
    early_cancel_seconds: int = 120
    rental_ttl_seconds: int = 1200
    default_country: int = 0
    currency: str = "USD"
    demo_sms_delay_seconds: int | None = None
    default_rate_limit: int = 600
    sweeper_interval_seconds: float = 1.0
    stock_cache_seconds: float = 2.0
    bind: str = "127.0.0.1:8080"
    webhook_secret: str | None = field(default=None, repr=False)
    upstream_poll_seconds: float = 3.0
    upstream_sync_seconds: float = 300.0
    upstream_orphan_grace_seconds: float = 60.0
    # Dashboard and mail (docs/dashboard.md). smtp_url may carry a password: keep it out of repr.
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = "ypv <noreply@localhost>"
    mail_dir: str = "var/mail"
    signup: str = "open"
    secure_cookies: str = "auto"
    public_url: str | None = None
    # Operations (docs/deploy.md): whose X-Forwarded-For to believe, and how log lines look.
    trusted_proxies: tuple = ("127.0.0.1", "::1")
    log_format: str = "text"
    # Where processes tell each other a key changed (ypv/key_cache.py); default: beside the SQLite file.
    key_epoch_file: str | None = None
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def currency_code(self) -> int:
        return CURRENCIES[self.currency]

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ=None) -> "Config":
        env = os.environ if environ is None else environ
        config = cls(
            database_url=env.get("YPV_DATABASE_URL", DEFAULT_DATABASE_URL).strip(),
            early_cancel_seconds=_int(env, "YPV_EARLY_CANCEL_SECONDS", 120, minimum=0),
            rental_ttl_seconds=_int(env, "YPV_RENTAL_TTL_SECONDS", 1200, minimum=1),
            default_country=_int(env, "YPV_DEFAULT_COUNTRY", 0, minimum=0),
            currency=env.get("YPV_CURRENCY", "USD").strip().upper(),
            demo_sms_delay_seconds=_optional_int(env, "YPV_DEMO_SMS_DELAY_SECONDS"),
            default_rate_limit=_int(env, "YPV_DEFAULT_RATE_LIMIT", 600, minimum=1),
            sweeper_interval_seconds=_float(env, "YPV_SWEEPER_INTERVAL_SECONDS", 1.0),
            stock_cache_seconds=_float(env, "YPV_STOCK_CACHE_SECONDS", 2.0),
            bind=env.get("YPV_BIND", "127.0.0.1:8080").strip(),
            webhook_secret=env.get("YPV_WEBHOOK_SECRET", "").strip() or None,
            upstream_poll_seconds=_float(env, "YPV_UPSTREAM_POLL_SECONDS", 3.0),
            upstream_sync_seconds=_float(env, "YPV_UPSTREAM_SYNC_SECONDS", 300.0),
            upstream_orphan_grace_seconds=_float(env, "YPV_UPSTREAM_ORPHAN_GRACE_SECONDS", 60.0),
            smtp_url=env.get("YPV_SMTP_URL", "").strip() or None,
            mail_from=env.get("YPV_MAIL_FROM", "").strip() or cls.mail_from,
            mail_dir=env.get("YPV_MAIL_DIR", "").strip() or cls.mail_dir,
            signup=env.get("YPV_SIGNUP", "open").strip().lower(),
            secure_cookies=env.get("YPV_SECURE_COOKIES", "auto").strip().lower(),
            public_url=env.get("YPV_PUBLIC_URL", "").strip().rstrip("/") or None,
            trusted_proxies=_list(env, "YPV_TRUSTED_PROXIES", cls.trusted_proxies),
            log_format=env.get("YPV_LOG_FORMAT", "text").strip().lower(),
            key_epoch_file=env.get("YPV_KEY_EPOCH_FILE", "").strip() or None,
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.currency not in CURRENCIES:
            known = ", ".join(sorted(CURRENCIES))
            raise ConfigError(f"YPV_CURRENCY={self.currency!r} is not supported; use one of {known}")
        if not re.match(r"^(sqlite|postgres|postgresql)://", self.database_url):
            raise ConfigError(
                f"YPV_DATABASE_URL={self.database_url!r} must start with sqlite:// or postgresql://"
            )
        if self.early_cancel_seconds >= self.rental_ttl_seconds:
            raise ConfigError("YPV_EARLY_CANCEL_SECONDS must be shorter than YPV_RENTAL_TTL_SECONDS")
        if self.webhook_secret is not None and len(self.webhook_secret) < 16:
            raise ConfigError("YPV_WEBHOOK_SECRET must be at least 16 characters")
        if not re.match(r"^[^\s:]+:\d{1,5}$|^unix:\S+$", self.bind):
            raise ConfigError(f"YPV_BIND={self.bind!r} must look like HOST:PORT or unix:PATH")
        _validate_dashboard(self)
        _validate_operations(self)


def _validate_dashboard(config: "Config") -> None:
    """Mail and sign-in settings; the SMTP URL is never echoed back (it may hold a password)."""
    if config.smtp_url and not re.match(r"^(smtp|smtp\+starttls|smtps)://[^/?#\s]+/?$", config.smtp_url):
        raise ConfigError("YPV_SMTP_URL must look like smtp://, smtp+starttls:// or smtps://[user:pass@]host[:port]")
    if not re.search(r"[^@\s<]+@[^@\s>]+", config.mail_from):
        raise ConfigError(f"YPV_MAIL_FROM={config.mail_from!r} must contain an e-mail address")
    if config.signup not in ("open", "invite"):
        raise ConfigError(f"YPV_SIGNUP={config.signup!r} must be open or invite")
    if config.secure_cookies not in ("auto", "on", "off"):
        raise ConfigError(f"YPV_SECURE_COOKIES={config.secure_cookies!r} must be auto, on or off")
    if config.public_url and not re.match(r"^https?://[^/\s]+(/\S*)?$", config.public_url):
        raise ConfigError(f"YPV_PUBLIC_URL={config.public_url!r} must look like https://host[/path]")


def _validate_operations(config: "Config") -> None:
    if config.log_format not in ("text", "json"):
        raise ConfigError(f"YPV_LOG_FORMAT={config.log_format!r} must be text or json")
    for network in config.trusted_proxies:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"YPV_TRUSTED_PROXIES: {network!r} is not an IP address or network") from None


def _list(env, name, default) -> tuple:
    """A comma-separated list; unset means the default, 'none' means empty."""
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    if raw.lower() == "none":
        return ()
    return tuple(item.strip() for item in raw.split(",") if item.strip())


def _int(env, name, default, minimum=None):
    raw = env.get(name, "")
    if raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a whole number") from None
    if minimum is not None and value < minimum:
        raise ConfigError(f"{name}={raw!r} must be at least {minimum}")
    return value


def _optional_int(env, name):
    raw = env.get(name, "").strip()
    if raw.lower() in ("", "0", "off", "false", "no"):
        return None
    return _int(env, name, None, minimum=1)


def _float(env, name, default):
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if not 0 < value <= 3600:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 3600 seconds")
    return value
