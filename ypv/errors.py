"""Domain errors that carry their wire token.

Domain code raises these; the API renders ``error.token`` (plus ``error.detail``
for tokens like ``WRONG_MAX_PRICE:1.50``). The CLI and dashboard show the same.
"""


class ApiError(Exception):
    token = "ERROR_SQL"

    def __init__(self, detail: str | None = None):
        super().__init__(self.token if detail is None else f"{self.token}:{detail}")
        self.detail = detail

    @property
    def body(self) -> str:
        return self.token if self.detail is None else f"{self.token}:{self.detail}"


def _error(name: str, token: str) -> type:
    return type(name, (ApiError,), {"token": token, "__doc__": f"Answered as {token}."})


BadKey = _error("BadKey", "BAD_KEY")
BadAction = _error("BadAction", "BAD_ACTION")
BadScope = _error("BadScope", "BAD_SCOPE")
BadService = _error("BadService", "BAD_SERVICE")
BadCountry = _error("BadCountry", "BAD_COUNTRY")
BadStatus = _error("BadStatus", "BAD_STATUS")
NoNumbers = _error("NoNumbers", "NO_NUMBERS")
NoBalance = _error("NoBalance", "NO_BALANCE")
WrongMaxPrice = _error("WrongMaxPrice", "WRONG_MAX_PRICE")
OrderAlreadyExists = _error("OrderAlreadyExists", "ORDER_ALREADY_EXISTS")
WrongActivationId = _error("WrongActivationId", "WRONG_ACTIVATION_ID")
NoActivation = _error("NoActivation", "NO_ACTIVATION")
EarlyCancelDenied = _error("EarlyCancelDenied", "EARLY_CANCEL_DENIED")
ErrorSql = _error("ErrorSql", "ERROR_SQL")


class RateLimited(ApiError):
    """Over the key's per-minute limit: HTTP 429 with Retry-After."""

    token = "TOO_MANY_REQUESTS"

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


class NotFound(Exception):
    """An operator command named something that does not exist (CLI/dashboard only)."""
