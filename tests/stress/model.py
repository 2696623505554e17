"""A deliberately simple model of ypv's wallet, keys, limiter and activations, written from
docs/protocol.md (the wire contract), for the state machine in test_stress_model.py.

It predicts the exact (HTTP status, body) of every request. Where the protocol is silent
it follows the documented order of checks: key → limit → scope → parameters → money.
Expiry is lazy in the database: a rental past its lifetime is ended by the sweeper or by
the next request that reads it, and the model ends it at exactly those moments too.
"""

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

EARLY_CANCEL = 120
TTL = 1200
WINDOW = 60
PRICES = {(0, "tg"): 150, (0, "wa"): 200, (0, "ot"): 25, (187, "tg"): 300}
PHONE_CODES = {0: 7, 187: 1}
# (phone, country, operator) in pool order: the pool hands out the first free id after the last one
# it sold in the country, wrapping round to the lowest (next fit).
NUMBERS = (("79000000001", 0, "mts"), ("79000000002", 0, "mts"), ("79000000003", 0, "beeline"),
           ("12025550101", 187, "any"))
LIVE = ("waiting", "code", "retry")
SCOPES_OF = {"getBalance": {"balance"}, "getNumber": {"purchase"}, "getNumberV2": {"purchase"},
             "getStatus": {"purchase", "cancel"}, "getStatusV2": {"purchase", "cancel"},
             "getFullSms": {"purchase", "cancel"}, "setStatus": {"cancel"}}


def money(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def timestamp(unix: int) -> str:
    return datetime.fromtimestamp(unix, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def ok(body: str) -> tuple[int, str]:
    return 200, body


@dataclass
class Key:
    account: str
    limit: int
    scopes: frozenset
    revoked: bool = False
    accepted: list = field(default_factory=list)  # times of accepted requests, oldest first

    def hit(self, now: float) -> int | None:
        """None if admitted (and counted), else the honest Retry-After."""
        recent = [t for t in self.accepted if now - t < WINDOW]
        if len(recent) >= self.limit:
            return max(1, min(WINDOW, math.ceil(recent[-self.limit] + WINDOW - now)))
        self.accepted = recent + [now]
        return None


@dataclass
class Rental:
    id: int
    account: str
    service: str
    country: int
    number: int  # index into NUMBERS
    cost: int
    created: int
    order_id: str | None
    state: str = "waiting"
    code: str | None = None
    sms_text: str | None = None
    sms_at: int | None = None

    @property
    def phone(self) -> str:
        return NUMBERS[self.number][0]

    def access_number(self) -> str:
        return f"ACCESS_NUMBER:{self.id}:{self.phone}"

    def v2(self) -> str:
        return json.dumps({
            "activationId": self.id, "phoneNumber": self.phone, "activationCost": self.cost / 100,
            "currency": 840, "countryCode": str(self.country), "countryPhoneCode": PHONE_CODES[self.country],
            "canGetAnotherSms": True, "activationTime": timestamp(self.created),
            "activationEndTime": timestamp(self.created + TTL), "activationOperator": NUMBERS[self.number][2],
        }, separators=(",", ":"))


class Model:
    def __init__(self, balances: dict):
        self.balances = dict(balances)
        self.keys: dict[str, Key] = {}
        self.rentals: list[Rental] = []
        self.now = 0.0  # set by the machine from the fake clock

    # --- the part every request shares ------------------------------------------------------

    def gate(self, key: str, action: str) -> tuple[int, str] | None:
        """BAD_KEY, 429 or BAD_SCOPE, or None when the action itself answers."""
        entry = self.keys.get(key)
        if entry is None or entry.revoked:
            return ok("BAD_KEY")
        retry_after = entry.hit(self.now)
        if retry_after is not None:
            return 429, f"TOO_MANY_REQUESTS retry-after={retry_after}"
        if not SCOPES_OF[action] & entry.scopes:
            return ok("BAD_SCOPE")
        return None

    # --- getNumber ----------------------------------------------------------------------------

    def buy(self, account: str, service: str, country: int, order_id: str | None, v2: bool) -> tuple[int, str]:
        cost = PRICES.get((country, service))
        if cost is None:
            return ok("NO_NUMBERS")
        existing = self._order(account, order_id)
        if existing is not None:
            if (existing.service, existing.country) != (service, country):
                return ok("ORDER_ALREADY_EXISTS")
            return ok(existing.v2() if v2 else existing.access_number())
        if self.balances[account] < cost:
            return ok("NO_BALANCE")
        number = self._free_number(service, country)
        if number is None:
            return ok("NO_NUMBERS")
        rental = Rental(len(self.rentals) + 1, account, service, country, number, cost, int(self.now), order_id)
        self.rentals.append(rental)
        self.balances[account] -= cost
        return ok(rental.v2() if v2 else rental.access_number())

    def _order(self, account: str, order_id: str | None) -> Rental | None:
        if order_id is None:
            return None
        return next((r for r in self.rentals if r.account == account and r.order_id == order_id), None)

    def _free_number(self, service: str, country: int) -> int | None:
        sold_here = [r.number for r in self.rentals if r.country == country]
        last = sold_here[-1] if sold_here else -1
        free = [index for index, (_, number_country, _) in enumerate(NUMBERS)
                if number_country == country
                and not any(r.number == index and (r.state in LIVE or r.service == service) for r in self.rentals)]
        return next((i for i in free if i > last), free[0] if free else None)

    # --- reading and moving an activation -----------------------------------------------------

    def current(self, account: str, rental_id: int) -> Rental | None:
        """The account's rental as a request sees it; expiry applies on read."""
        rental = self.rental(rental_id)
        if rental is None or rental.account != account:
            return None
        self.expire(rental)
        return rental

    def rental(self, rental_id: int) -> Rental | None:
        return self.rentals[rental_id - 1] if 0 < rental_id <= len(self.rentals) else None

    def expire(self, rental: Rental) -> None:
        if rental.state in LIVE and self.now >= rental.created + TTL:
            self._end(rental, "cancelled" if rental.state == "waiting" else "finished")

    def sweep(self) -> None:
        for rental in self.rentals:
            self.expire(rental)

    def _end(self, rental: Rental, state: str) -> None:
        if state == "cancelled":
            self.balances[rental.account] += rental.cost
        rental.state = state

    def status(self, rental: Rental) -> str:
        return {"waiting": "STATUS_WAIT_CODE", "code": f"STATUS_OK:{rental.code}",
                "retry": f"STATUS_WAIT_RETRY:{rental.code}", "finished": f"STATUS_OK:{rental.code}",
                "cancelled": "STATUS_CANCEL"}[rental.state]

    def status_v2(self, rental: Rental) -> str:
        if rental.state == "cancelled":
            return "STATUS_CANCEL"
        sms = None if rental.code is None else {"dateTime": timestamp(rental.sms_at), "code": rental.code,
                                                 "text": rental.sms_text}
        return json.dumps({"verificationType": 0, "sms": sms, "call": None}, ensure_ascii=False,
                          separators=(",", ":"))

    def full_sms(self, rental: Rental) -> str:
        if rental.state == "cancelled":
            return "STATUS_CANCEL"
        return "STATUS_WAIT_CODE" if rental.sms_text is None else f"FULL_SMS:{rental.sms_text}"

    def set_status(self, rental: Rental, status: str) -> str:
        state = rental.state
        if status == "1" and state == "waiting":
            return "ACCESS_READY"
        if status == "3" and state == "code":
            rental.state = "retry"
            return "ACCESS_RETRY_GET"
        if status == "6" and state in ("code", "retry", "finished"):
            rental.state = "finished"
            return "ACCESS_ACTIVATION"
        if status in ("8", "-1") and state == "cancelled":
            return "ACCESS_CANCEL"
        if status in ("8", "-1") and state == "waiting":
            if self.now < rental.created + EARLY_CANCEL:
                return "EARLY_CANCEL_DENIED"
            self._end(rental, "cancelled")
            return "ACCESS_CANCEL"
        return "BAD_STATUS"

    # --- the outside world --------------------------------------------------------------------

    def sms(self, number: int, text: str, code: str | None) -> int | None:
        """An SMS reaches the live rental on that number unless its lifetime is over."""
        rental = next((r for r in self.rentals if r.number == number and r.state in LIVE), None)
        if rental is None or self.now >= rental.created + TTL:
            return None
        if code is not None:
            rental.state, rental.code, rental.sms_text, rental.sms_at = "code", code, text, int(self.now)
        return rental.id
