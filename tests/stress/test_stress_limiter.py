"""Issue 6, item 6: the per-key limiter is exact under concurrency, its Retry-After is honest, and
its memory is bounded by the keys in use, never by the keys attackers try.

* 8 threads on one key, in process, on a clock that moves on at every read: no 60-second window
  ever holds more than the limit, no request is refused while the window has room, and every
  Retry-After is exactly the whole seconds until the oldest request leaves the window;
* the same over real HTTP against gunicorn, judged only by what the client can prove from its
  own send/receive timestamps (the server's clock reading lies between the two);
* 10,000 keys at full rate for two minutes, then idle; and unknown keys through the real app:
  the limiter holds state only for authenticated keys, reuses it, and drops idle keys.
"""

import bisect
import math
import os
import sys
import threading
import time
import tracemalloc

import pytest
import requests
import webtest

from tests.conftest import T0, FakeClock, live_server
from tests.stress.support import provision, report, size
from ypv import schema
from ypv.app import create_app
from ypv.limiter import WINDOW, RateLimiter


class SteppingClock:
    """Every read is 1 ms after the previous one; each thread remembers the first read of its hit()."""

    def __init__(self):
        self.now, self.lock, self.local = 1000.0, threading.Lock(), threading.local()

    def __call__(self) -> float:
        with self.lock:
            self.now += 0.001
            now = self.now
        if getattr(self.local, "first", None) is None:
            self.local.first = now
        return now


def _hammer_one_key(limiter, clock, threads: int, hits: int, limit: int) -> list[tuple[float, int | None]]:
    results = []

    def worker():
        mine = []
        for _ in range(hits):
            clock.local.first = None
            answer = limiter.hit(1, limit)
            mine.append((clock.local.first, answer))  # the time hit() read first: its "now"
        results.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def _busiest_window(times: list[float]) -> int:
    start, worst = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - WINDOW:
            start += 1
        worst = max(worst, end - start + 1)
    return worst


def test_exact_and_honest_under_eight_threads_on_one_key():
    limit, switch = 50, sys.getswitchinterval()
    clock = SteppingClock()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: between reading the clock and locking
    try:
        results = _hammer_one_key(RateLimiter(clock), clock, threads=8, hits=size(20_000, 100_000), limit=limit)
    finally:
        sys.setswitchinterval(switch)
    admitted = sorted(t for t, answer in results if answer is None)
    assert _busiest_window(admitted) == limit
    for t, answer in results:
        if answer is not None:  # refused: the window (t - 60, t] is full, and the oldest leaves in `answer` s
            inside = admitted[bisect.bisect_right(admitted, t - WINDOW):bisect.bisect_right(admitted, t)]
            assert len(inside) == limit
            assert answer == max(1, min(60, math.ceil(inside[0] + WINDOW - t)))
    report("limiter, 8 threads, one key, in process", hits=len(results), admitted=len(admitted), limit=limit)


# --- over real HTTP ------------------------------------------------------------------------------

def _paced_load(server, key: str, seconds: float) -> list[tuple[float, float, int, int | None]]:
    """8 threads, each sending a getBalance every ~0.1 s for ``seconds``: (sent, received, status, Retry-After)."""
    answers, stop_at = [], time.time() + seconds

    def worker():
        mine = []
        with requests.Session() as session:
            while time.time() < stop_at:
                sent = time.time()
                response = session.get(server.handler_url, params={"api_key": key, "action": "getBalance"},
                                       timeout=30)
                retry_after = response.headers.get("Retry-After")
                mine.append((sent, time.time(), response.status_code, int(retry_after) if retry_after else None))
                time.sleep(0.1)
        answers.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(8)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=seconds + 120)
    return sorted(answers)


def _never_over_the_limit(admitted, limit: int) -> None:
    """Requests sent after a and answered before a + 60 s were certainly admitted inside one window."""
    for sent, _, _, _ in admitted:
        assert sum(1 for s, r, _, _ in admitted if s >= sent and r < sent + WINDOW) <= limit


def _refusals_are_honest(answers, admitted, limit: int, end: float) -> None:
    for sent, received, status, retry_after in answers:
        if status != 429:
            continue
        # the window was full: at least `limit` admissions could lie in it
        assert sum(1 for s, r, _, _ in admitted if r > sent - WINDOW and s < received) >= limit
        # no slot frees before Retry-After - 1 s (the true wait is in (R - 1, R])...
        assert all(r > sent + retry_after - 1 for s, r, _, _ in admitted if s >= received)
        # ...and one does by Retry-After: traffic never stops, so someone is admitted soon after
        if received + retry_after + 2 < end:
            assert any(s >= sent and r <= received + retry_after + 2 for s, r, _, _ in admitted)


@pytest.mark.live
def test_exact_and_honest_over_real_http(tmp_path, request):
    limit, seconds = 100, size(65, 130)
    server = live_server(tmp_path, request)
    key = provision(server.database_url, 1, 0, limit=limit)[0]
    started = time.time()
    answers = _paced_load(server, key, seconds)
    admitted = [a for a in answers if a[2] == 200]
    assert {status for _, _, status, _ in answers} == {200, 429}
    _never_over_the_limit(admitted, limit)
    _refusals_are_honest(answers, admitted, limit, started + seconds)
    report("limiter over HTTP, 8 threads, one key", seconds=seconds, requests=len(answers),
           admitted=len(admitted), refused=len(answers) - len(admitted), limit=limit)


# --- memory --------------------------------------------------------------------------------------

def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _one_minute_at_full_rate(limiter, clock, keys: range, limit: int) -> None:
    """Every key sends exactly its limit, evenly over the next minute: all admitted. Times are
    computed from the minute's start, not summed step by step (float error would pile up)."""
    start = clock.now
    for i in range(limit):
        clock.now = start + i * (WINDOW / limit)
        for key in keys:
            assert limiter.hit(key, limit) is None
    clock.now = start + WINDOW


def _traced(before: int) -> int:
    return tracemalloc.get_traced_memory()[0] - before


def test_memory_is_bounded_by_keys_in_use():
    """10,000 keys at full rate for two minutes, idle, then 10,000 other keys, idle again."""
    limit, first_keys, other_keys = size(60, 600), range(10_000), range(10_000, 20_000)
    clock = FakeClock(T0)
    limiter = RateLimiter(clock)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        _one_minute_at_full_rate(limiter, clock, first_keys, limit)
        one_minute = _traced(before)
        _one_minute_at_full_rate(limiter, clock, first_keys, limit)
        two_minutes = _traced(before)
        assert len(limiter) == 10_000
        clock.advance(WINDOW + 1.5)
        assert len(limiter) == 0  # idle keys are dropped once their window is empty
        idle = _traced(before)
        _one_minute_at_full_rate(limiter, clock, other_keys, limit)
        other = _traced(before)
        clock.advance(WINDOW + 1.5)
        assert len(limiter) == 0
        idle_again = _traced(before)
    finally:
        tracemalloc.stop()
    assert one_minute / 10_000 <= limit * 8 * 1.15 + 600  # 8-byte timestamps (array slack) + fixed overhead
    assert two_minutes <= one_minute * 1.01  # the second minute reuses the ring buffers
    assert other <= one_minute * 1.05  # new keys take the place of the dropped ones
    assert idle <= one_minute * 0.15 and idle_again <= idle * 1.1  # what stays (hash tables) does not pile up
    report("limiter memory, 10,000 keys at full rate", limit=limit, hits=3 * 10_000 * limit,
           mb_after_1_min=round(one_minute / 2**20, 1), mb_after_2_min=round(two_minutes / 2**20, 1),
           bytes_per_key=round(one_minute / 10_000), kb_idle=round(idle / 1024),
           mb_other_keys=round(other / 2**20, 1), kb_idle_again=round(idle_again / 1024), rss_mb=round(_rss_mb()))


def test_unknown_keys_leave_no_state(config, clock):
    """Unknown keys (well-formed, malformed, in the query and the header) through the real app:
    answered BAD_KEY before the limiter, so nothing is kept per key however many are tried."""
    app = create_app(config, clock=clock)
    schema.create_tables()
    client = webtest.TestApp(app)
    count = size(20_000, 100_000)
    for i in range(1_000):  # warm up: first-use allocations are not growth
        client.get("/stubs/handler_api.php", params={"api_key": f"ypv_{i:064x}", "action": "getBalance"})
    tracemalloc.start()
    try:
        before, rss_before = tracemalloc.get_traced_memory()[0], _rss_mb()
        for i in range(count):
            _unknown_key_request(client, i)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(app.limiter) == 0
    assert grown < 2 * 2**20  # 100,000 keys kept at even 40 bytes each would be 4 MB
    report("unknown keys through the app", requests=count, limiter_keys=len(app.limiter),
           traced_growth_kb=round(grown / 1024), rss_growth_mb=round(_rss_mb() - rss_before, 1))


def _unknown_key_request(client, i: int) -> None:
    key = f"ypv_{(i * 2654435761) % 16**64:064x}"
    if i % 3 == 0:
        resp = client.get("/stubs/handler_api.php", params={"action": "getBalance"},
                          headers={"Authorization": f"ApiKey {key}"})
    else:
        resp = client.get("/stubs/handler_api.php", params={"api_key": key if i % 3 == 1 else f"k{i}",
                                                            "action": "getBalance"})
    assert (resp.status_int, resp.body) == (200, b"BAD_KEY")
