"""What every action receives besides its parameters."""

from dataclasses import dataclass

from ypv.catalog import Catalog
from ypv.config import Config
from ypv.keys import AuthedKey


@dataclass(frozen=True)
class Ctx:
    key: AuthedKey
    now: int
    config: Config
    catalog: Catalog
    # The account's balance as read with the key during this request (None when the key was
    # remembered): as current as reading it again, and one query fewer.
    balance_read: int | None = None

    @property
    def account_id(self) -> int:
        return self.key.account_id
