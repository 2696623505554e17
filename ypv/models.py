"""Peewee models mirroring schema.sql (tests/test_schema.py proves they match).

Tables are created from schema.sql, never from these classes, so the DDL stays
the single source of truth for constraints the code relies on.
"""

from peewee import (
    AutoField, BigIntegerField, BooleanField, CharField, CompositeKey, ForeignKeyField,
    IntegerField, Model, TextField,
)

from ypv.db import database

RENTAL_STATES = ("pending", "waiting", "code", "retry", "finished", "cancelled", "failed")
LIVE_STATES = ("waiting", "code", "retry")


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Account(BaseModel):
    id = AutoField()
    email = TextField(unique=True)
    password_hash = TextField(null=True)
    is_admin = BooleanField(default=False)
    disabled = BooleanField(default=False)
    balance = BigIntegerField(default=0)
    created_at = BigIntegerField()


class ApiKey(BaseModel):
    id = AutoField()
    account = ForeignKeyField(Account, backref="keys")
    prefix = TextField(null=True, index=True)
    key_hash = TextField(null=True, unique=True)
    label = TextField(default="")
    scopes = TextField()
    rate_limit = IntegerField()
    status = TextField()
    note = TextField(null=True)
    created_at = BigIntegerField()
    decided_at = BigIntegerField(null=True)
    last_used_at = BigIntegerField(null=True)

    @property
    def scope_set(self) -> frozenset:
        return frozenset(s for s in self.scopes.split(",") if s)


class Service(BaseModel):
    code = CharField(primary_key=True)
    name = TextField()


class Country(BaseModel):
    id = IntegerField(primary_key=True)
    eng = TextField()
    rus = TextField()
    chn = TextField()
    phone_code = IntegerField()
    visible = BooleanField(default=True)


class Price(BaseModel):
    service = ForeignKeyField(Service, column_name="service_code", field="code", object_id_name="service_id")
    country = ForeignKeyField(Country)
    cost = BigIntegerField()

    class Meta:
        primary_key = CompositeKey("service", "country")


class PriceVersion(BaseModel):
    """price_version's one row: a new random value on every change to price (schema.sql)."""
    id = IntegerField(primary_key=True)
    version = BigIntegerField()


class Number(BaseModel):
    id = AutoField()
    phone = TextField(unique=True)
    country = ForeignKeyField(Country)
    operator = TextField(default="any")
    active = BooleanField(default=True)
    created_at = BigIntegerField()


class Rental(BaseModel):
    id = AutoField()
    account = ForeignKeyField(Account, backref="rentals")
    api_key = ForeignKeyField(ApiKey, null=True)
    service = ForeignKeyField(Service, column_name="service_code", field="code", object_id_name="service_id")
    country = ForeignKeyField(Country)
    number = ForeignKeyField(Number, null=True)
    live_number = ForeignKeyField(Number, null=True, unique=True, backref="live_rental")
    phone = TextField()
    operator = TextField(default="any")
    cost = BigIntegerField()
    state = TextField()
    code = TextField(null=True)
    sms_text = TextField(null=True)
    sms_at = BigIntegerField(null=True)
    order_id = TextField(null=True)
    provider = TextField(default="pool")
    upstream_id = TextField(null=True)
    upstream_cost = BigIntegerField(null=True)
    upstream_polled_at = BigIntegerField(null=True)
    created_at = BigIntegerField()
    state_at = BigIntegerField()
    expires_at = BigIntegerField()
    ended_at = BigIntegerField(null=True)

    @property
    def is_live(self) -> bool:
        return self.state in LIVE_STATES


class Ledger(BaseModel):
    id = AutoField()
    account = ForeignKeyField(Account, backref="ledger")
    amount = BigIntegerField()
    kind = TextField()
    rental = ForeignKeyField(Rental, null=True)
    note = TextField(null=True)
    created_at = BigIntegerField()


class Sms(BaseModel):
    id = AutoField()
    rental = ForeignKeyField(Rental, null=True, backref="messages")
    phone = TextField()
    sender = TextField(null=True)
    text = TextField()
    code = TextField(null=True)
    external_id = TextField(null=True, unique=True)
    received_at = BigIntegerField()


class CodePattern(BaseModel):
    id = AutoField()
    service = ForeignKeyField(Service, column_name="service_code", field="code", object_id_name="service_id",
                              null=True)
    pattern = TextField()
    created_at = BigIntegerField()


class WebSession(BaseModel):
    """A dashboard sign-in; the cookie holds the token, this row only its SHA-256."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="sessions")
    token_hash = TextField(unique=True)
    created_at = BigIntegerField()
    expires_at = BigIntegerField()


class EmailToken(BaseModel):
    """A one-time link sent by e-mail (sign-up, invitation, password reset)."""

    id = AutoField()
    token_hash = TextField(unique=True)
    email = TextField()
    purpose = TextField()
    created_at = BigIntegerField()
    expires_at = BigIntegerField()
    used_at = BigIntegerField(null=True)


class Upstream(BaseModel):
    """An upstream SMS-Activate-compatible provider we resell (reseller mode)."""

    id = AutoField()
    name = TextField(unique=True)
    url = TextField()
    api_key = TextField()
    priority = IntegerField(default=100)
    timeout_ms = IntegerField(default=10000)
    markup_bp = IntegerField(default=0)         # basis points: 2500 = 25 %
    markup_fixed = BigIntegerField(default=0)   # minor units added after the percentage
    honours_order_id = BooleanField(default=False)
    status = TextField(default="new")
    last_error = TextField(null=True)
    last_error_at = BigIntegerField(null=True)
    balance = BigIntegerField(null=True)
    synced_at = BigIntegerField(null=True)
    created_at = BigIntegerField()


class UpstreamPrice(BaseModel):
    upstream = ForeignKeyField(Upstream, on_delete="CASCADE")
    service = ForeignKeyField(Service, column_name="service_code", field="code", object_id_name="service_id")
    country = ForeignKeyField(Country)
    cost = BigIntegerField()
    stock = IntegerField(default=0)

    class Meta:
        primary_key = CompositeKey("upstream", "service", "country")


class UpstreamOrphan(BaseModel):
    id = AutoField()
    upstream = ForeignKeyField(Upstream, on_delete="CASCADE")
    activation_id = TextField()
    phone = TextField(null=True)
    first_seen_at = BigIntegerField()
    cancelled_at = BigIntegerField(null=True)
    attempts = IntegerField(default=0)
    last_error = TextField(null=True)


class UpstreamEvent(BaseModel):
    id = AutoField()
    upstream = ForeignKeyField(Upstream, on_delete="CASCADE")
    action = TextField()
    detail = TextField()
    created_at = BigIntegerField()


ALL_MODELS = (Account, ApiKey, Service, Country, Price, PriceVersion, Number, Rental, Ledger, Sms, CodePattern,
              WebSession, EmailToken, Upstream, UpstreamPrice, UpstreamOrphan, UpstreamEvent)
