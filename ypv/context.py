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

    @property
    def account_id(self) -> int:
        return self.key.account_id
