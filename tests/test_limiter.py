"""The limiter on a fake clock: exactness, Retry-After, memory bounded by active keys."""

import math
import random
import threading

from ypv.limiter import RateLimiter


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def test_accepts_exactly_the_limit_then_rejects_with_retry_after():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert [limiter.hit(1, 3) for _ in range(3)] == [None, None, None]
    assert limiter.hit(1, 3) == 60
    clock.now += 59.2
    assert limiter.hit(1, 3) == 1
    clock.now += 0.8
    assert limiter.hit(1, 3) is None
    assert limiter.hit(1, 3) is None
    assert limiter.hit(1, 3) is None
    assert limiter.hit(1, 3) == 60


def test_retry_after_is_honest():
    """At now + Retry-After a request is accepted; one second earlier it is not."""
    clock = Clock()
    limiter = RateLimiter(clock)
    for step in range(10):
        limiter.hit(7, 10)
        clock.now += 2.5
    wait = limiter.hit(7, 10)
    assert wait == 35  # the oldest (t=1000.0) leaves the window at 1060.0; now is 1025.0
    clock.now += wait - 1
    assert limiter.hit(7, 10) is not None
    clock.now += 1
    assert limiter.hit(7, 10) is None


def test_rejected_requests_do_not_count():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.hit(1, 1) is None
    for _ in range(119):  # knocking every 0.5 s up to t=1059.5 is refused and not counted
        clock.now += 0.5
        assert limiter.hit(1, 1) is not None
    clock.now = 1060.0
    assert limiter.hit(1, 1) is None


def test_never_more_than_limit_in_any_window_under_random_traffic():
    rng = random.Random(4)
    clock = Clock()
    limiter = RateLimiter(clock)
    accepted = []
    for _ in range(20_000):
        clock.now += rng.expovariate(5)
        if limiter.hit(1, 50) is None:
            accepted.append(clock.now)
    assert max(_max_in_window(accepted)) == 50
    assert len(accepted) > 50 * (clock.now - 1000) / 60 * 0.95


def _max_in_window(times):
    start = 0
    for end, t in enumerate(times):
        while times[start] <= t - 60:
            start += 1
        yield end - start + 1


def test_keys_are_independent_and_limits_can_change():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.hit(1, 1) is None
    assert limiter.hit(2, 1) is None
    assert limiter.hit(1, 1) == 60
    assert limiter.hit(1, 3) is None  # limit raised by the operator
    assert limiter.hit(1, 3) is None
    assert limiter.hit(1, 3) == 60
    assert limiter.hit(1, 2) == 60    # lowered: the two newest count
    clock.now += 60
    assert limiter.hit(1, 2) is None


def test_idle_keys_are_dropped():
    clock = Clock()
    limiter = RateLimiter(clock)
    for key in range(1000):
        limiter.hit(key, 600)
    assert len(limiter) == 1000
    clock.now += 61.5
    assert len(limiter) == 0


def test_a_sweep_keeps_keys_with_requests_still_in_the_window():
    clock = Clock()
    limiter = RateLimiter(clock)
    assert limiter.hit(1, 2) is None
    clock.now += 30
    assert [limiter.hit(2, 2), limiter.hit(2, 2)] == [None, None]  # key 2's ring is full
    clock.now += 31  # key 1's only request has left the window; key 2's have not
    assert len(limiter) == 1
    assert limiter.hit(2, 2) == 29  # still counted after the sweep: exactness is kept
    clock.now += 29
    assert limiter.hit(2, 2) is None


def test_at_most_max_keys_are_kept_and_the_one_used_longest_ago_goes_first():
    clock = Clock()
    limiter = RateLimiter(clock, max_keys=3)
    for key in (1, 2, 3):
        assert limiter.hit(key, 5) is None
        clock.now += 1
    assert limiter.hit(1, 5) is None   # key 1 is now the newest; key 2 was used longest ago
    assert limiter.hit(4, 5) is None
    assert len(limiter) == 3
    assert [limiter.hit(key, 2) for key in (1, 3, 4)] == [57, None, None]  # key 1 kept both (t=1000, 1003)
    assert limiter.hit(2, 1) is None  # key 2 was dropped: its earlier request is forgotten


def test_exact_under_eight_threads():
    clock = Clock()
    limiter = RateLimiter(clock)
    results = []

    def worker():
        for _ in range(500):
            results.append(limiter.hit(1, 600))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 600
    assert set(r for r in results if r is not None) == {60}


def test_a_key_far_below_its_limit_keeps_about_a_minute_of_requests():
    """Memory follows the key's rate, not its history: 9,000 requests in 30 minutes under a
    limit of 100,000 keep at most twice the last minute's (~300) times, and all are accepted."""
    clock = Clock()
    limiter = RateLimiter(clock)
    for _ in range(9_000):
        clock.now += 0.2
        assert limiter.hit(1, 100_000) is None
        assert len(limiter._windows[1].times) <= 2 * 300 + 64


def test_forgetting_expired_requests_changes_no_answer():
    """Bursts that fill the ring and pauses that empty the window, against a brute-force count."""
    rng = random.Random(7)
    clock = Clock()
    limiter = RateLimiter(clock)
    accepted: list = []
    for _ in range(30_000):
        clock.now += rng.choice([0.001, 0.01, 0.1, 1.0, 30.0])
        in_window = sum(1 for t in accepted[-400:] if t > clock.now - 60)
        expected = None if in_window < 400 else max(1, min(60, math.ceil(
            sorted(accepted)[-400] + 60 - clock.now)))
        assert limiter.hit(1, 400) == expected
        if expected is None:
            accepted.append(clock.now)
    assert len(accepted) > 5_000
