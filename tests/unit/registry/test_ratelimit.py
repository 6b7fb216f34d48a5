"""Failed attempts per source address, with the time passed in."""

import pytest

from cloud.registry.ratelimit import FailureLimiter


def test_an_address_may_fail_limit_minus_one_times():
    limiter = FailureLimiter(limit=3, window=60)
    for t in (0, 1):
        limiter.failed("10.0.0.1", t)
        assert limiter.retry_after("10.0.0.1", t) is None
    limiter.failed("10.0.0.1", 2)
    assert limiter.retry_after("10.0.0.1", 2) == 58  # the first failure is 60 s old at 60


def test_the_wait_ends_when_the_oldest_failure_leaves_the_window():
    limiter = FailureLimiter(limit=3, window=60)
    for t in (0, 10, 20):
        limiter.failed("a", t)
    assert limiter.retry_after("a", 59.5) == 1  # whole seconds, never 0
    assert limiter.retry_after("a", 60) is None
    limiter.failed("a", 61)  # failures at 10, 20, 61: blocked again until 70
    assert limiter.retry_after("a", 61) == 9


def test_addresses_are_counted_apart():
    limiter = FailureLimiter(limit=2, window=60)
    limiter.failed("a", 0)
    limiter.failed("a", 0)
    assert limiter.retry_after("a", 1) == 59
    assert limiter.retry_after("b", 1) is None


def test_old_failures_are_forgotten():
    limiter = FailureLimiter(limit=2, window=60)
    limiter.failed("a", 0)
    limiter.failed("a", 61)
    assert limiter.retry_after("a", 61) is None
    assert limiter.retry_after("a", 200) is None
    assert len(limiter) == 0  # nothing kept for a quiet address


def test_memory_is_bounded_by_forgetting_the_quietest_addresses():
    limiter = FailureLimiter(limit=1, window=60, max_addresses=100)
    for n in range(1000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}", n / 100)
    assert len(limiter) == 100
    assert limiter.retry_after("10.0.3.231", 10) is not None  # the latest, kept
    assert limiter.retry_after("10.0.0.0", 10) is None  # the first, forgotten


@pytest.mark.parametrize("args", [(0, 60), (3, 0), (3, -1)])
def test_nonsense_settings_are_refused(args):
    with pytest.raises(ValueError):
        FailureLimiter(*args)
