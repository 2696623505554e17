"""The printed table: one row per scenario and connection count, with the target verdict."""

from bench.scenarios import BY_NAME, GET_NUMBER_P99_MS, GET_NUMBER_RPS
from bench.wrk import Summary

HEADER = (f"{'scenario':<11} {'conns':>5}  {'ypv req/s (each run)':<26} {'median':>8} {'p50 ms':>7} "
          f"{'p99 ms':>7} {'errors':>7}  {'bare':>8} {'ratio':>6}  target")


def _rps(value: float) -> str:
    return f"{value:,.0f}"


def verdict(backend: str, name: str, conns: int, ypv: Summary, bare: Summary) -> str:
    ratio = ypv.median_rps / bare.median_rps if bare.median_rps else 0.0
    if name == "getNumber":
        ok_p99 = ypv.p99_ms <= GET_NUMBER_P99_MS and ypv.errors == 0
        if conns == 1:
            return f"0 errors, p99<={GET_NUMBER_P99_MS}ms {'met' if ok_p99 else 'MISSED'}"
        goal = GET_NUMBER_RPS[backend]
        met = ok_p99 and ypv.median_rps >= goal
        return f">={goal}/s, 0 errors, p99<={GET_NUMBER_P99_MS}ms {'met' if met else 'MISSED'}"
    target = BY_NAME[name].ratio_target
    if target is None:
        return "-"
    return f">={target:.2f} {'met' if ratio >= target else 'MISSED'}"


def row(backend: str, name: str, conns: int, ypv: Summary, bare: Summary) -> str:
    runs = " ".join(_rps(r) for r in ypv.runs)
    ratio = ypv.median_rps / bare.median_rps if bare.median_rps else 0.0
    errors = f"{ypv.errors}" + ("*" if name == "limited" else "")
    return (f"{name:<11} {conns:>5}  {runs:<26} {_rps(ypv.median_rps):>8} {ypv.p50_ms:>7.2f} "
            f"{ypv.p99_ms:>7.2f} {errors:>7}  {_rps(bare.median_rps):>8} {ratio:>6.2f}  "
            f"{verdict(backend, name, conns, ypv, bare)}")


FOOTNOTE = ("errors = socket errors + HTTP status >= 400 + bodies the scenario does not expect "
            "(ERROR_SQL, NO_NUMBERS …);\n* the limited scenario answers 429 by design, so its errors are "
            "all the expected 429s. bare = the bare Falcon app's median req/s on the same requests.")
