"""The scenarios, their targets, and the data file the wrk script reads."""

from dataclasses import dataclass
from pathlib import Path

from bench.dataset import Dataset, service_code


@dataclass(frozen=True)
class Scenario:
    name: str
    action: str          # what the bare app's constant imitates
    ratio_target: float | None = None
    note: str = ""


SCENARIOS = (
    Scenario("getBalance", "getBalance", 0.45),
    Scenario("getStatus", "getStatus", 0.45, "over the live rentals"),
    Scenario("getPrices", "getPrices", 0.35, "full catalog, no filter"),
    Scenario("getNumber", "getNumber", None, "random service × country"),
    Scenario("mixed", "getStatus", None, "90% getStatus, 5% getNumber, 5% setStatus"),
    Scenario("limited", "getBalance", 0.80, "key over its limit: 429 expected"),
)
BY_NAME = {s.name: s for s in SCENARIOS}

# getNumber: requests per second at 32 connections, per backend; 0 errors; p99 at most this.
GET_NUMBER_RPS = {"sqlite": 1000, "postgresql": 700}
GET_NUMBER_P99_MS = 150


def bare_bodies(prices_body: str) -> dict:
    """The bare app's constant per action: what ypv answers, byte for byte in size and type."""
    text = "text/plain; charset=utf-8"
    return {
        "getBalance": [text, "ACCESS_BALANCE:100000000.00"],
        "getStatus": [text, "STATUS_WAIT_CODE"],
        "setStatus": [text, "ACCESS_CANCEL"],
        "getNumber": [text, "ACCESS_NUMBER:1000001:10000099999"],
        "getPrices": ["application/json; charset=utf-8", prices_body],
    }


def write_lua_data(data: Dataset, path: Path) -> None:
    """Keys, activations and purchases as a Lua table (wrk's Lua reads it with dofile)."""
    sizes = data.sizes
    buy = [(service_code(s), c) for s in range(sizes.services) for c in range(sizes.countries)]
    parts = [
        "return {",
        "keys={" + ",".join(f'"{k}"' for k in data.keys) + "},",
        "pairs={" + ",".join(f'"{k}"' for k, _, _ in data.pairs) + "},",
        "ids={" + ",".join(str(i) for _, i, _ in data.pairs) + "},",
        "states={" + ",".join(f'"{s}"' for _, _, s in data.pairs) + "},",
        "buy={" + ",".join(f'{{"{s}",{c}}}' for s, c in buy) + "},",
        f'limited="{data.limited_key}",',
        "}",
    ]
    path.write_text("\n".join(parts), encoding="utf-8")
