"""Backoff, circuit breaker and rate limit around SEI calls."""

from __future__ import annotations

import threading
import time

import pytest

from sei_bridge import errors
from sei_bridge.engine.policy import CircuitOpenError, RetryPolicy, SeiGuard


def test_backoff_grows_exponentially_with_bounded_jitter_and_a_cap() -> None:
    policy = RetryPolicy(initial=2.0, maximum=60.0, jitter=1.0)
    for failures in range(1, 12):
        base = min(2.0 * 2 ** (failures - 1), 60.0)
        for _ in range(20):
            delay = policy.delay(failures)
            assert base <= delay <= min(base + 1.0, 60.0)
    assert policy.delay(50) == 60.0  # capped, never given up


def test_retry_after_and_probe_delay_are_lower_bounds() -> None:
    policy = RetryPolicy(initial=1.0, maximum=10.0, jitter=0.0, probe_delay=7.0)
    assert policy.next_attempt(1, now=1000.0, at_least=5.0) == 1005.0
    assert policy.next_attempt(1, now=1000.0) == 1001.0
    assert policy.probe_at(1, now=1000.0) == 1007.0


@pytest.mark.parametrize("server", [30.0, 1e300, float("inf"), float("nan"), -5.0])
def test_a_server_given_delay_never_goes_past_the_policy_maximum(server: float) -> None:
    # a Retry-After of 400 digits or a date in 9999 must neither park an action (and its
    # request behind it) for ages nor overflow the clock when the next attempt is stored
    policy = RetryPolicy(initial=1.0, maximum=10.0, jitter=0.0)
    assert 1001.0 <= policy.next_attempt(1, now=1000.0, at_least=server) <= 1010.0


def _fail(exc: Exception) -> None:
    raise exc


def test_the_circuit_opens_after_repeated_outages_and_refuses_without_calling() -> None:
    guard = SeiGuard(rate_limit=0, fail_max=3, reset_timeout=60)
    for _ in range(3):
        with pytest.raises(errors.SeiNotSentError):
            guard.call("op", lambda: _fail(errors.SeiNotSentError("down")))
    assert guard.state == "open"
    until = guard.open_until()
    assert until is not None
    called = []
    with pytest.raises(CircuitOpenError) as info:
        guard.call("op", lambda: called.append(1))
    assert called == [] and info.value.until == until


def test_sei_refusing_a_request_does_not_count_as_an_outage() -> None:
    guard = SeiGuard(rate_limit=0, fail_max=2, reset_timeout=60)
    for _ in range(5):
        with pytest.raises(errors.SeiValidationFault):
            guard.call("op", lambda: _fail(errors.SeiValidationFault("refused")))
    assert guard.state == "closed" and guard.open_until() is None
    assert guard.call("op", lambda: 42) == 42


def test_a_success_resets_the_failure_count() -> None:
    guard = SeiGuard(rate_limit=0, fail_max=2, reset_timeout=60)
    for _ in range(3):
        with pytest.raises(errors.SeiInfrastructureFault):
            guard.call("op", lambda: _fail(errors.SeiInfrastructureFault("x")))
        guard.call("op", lambda: None)
    assert guard.state == "closed"


def test_calls_through_the_guard_run_concurrently() -> None:
    # pybreaker's own call() would hold its lock for the whole call: two calls could never
    # meet at this barrier and it would break after the timeout
    guard = SeiGuard(rate_limit=0)
    barrier = threading.Barrier(2, timeout=5)
    results: list[int] = []

    def call() -> None:
        results.append(guard.call("op", lambda: barrier.wait()))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert sorted(results) == [0, 1]


def test_the_rate_limit_spaces_calls() -> None:
    guard = SeiGuard(rate_limit=20.0)
    started = time.monotonic()
    for _ in range(30):
        guard.call("op", lambda: None)
    # 20 per second: the 21st..30th call wait for the next second
    assert time.monotonic() - started >= 0.9


def test_the_guard_caps_the_sei_calls_in_flight() -> None:
    guard = SeiGuard(rate_limit=0, max_in_flight=2)
    lock = threading.Lock()
    running = peak = 0
    # each call waits for a second one to be in flight with it: the cap lets them in by pairs
    pair = threading.Barrier(2, timeout=5)

    def call() -> None:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        pair.wait()
        with lock:
            running -= 1

    threads = [
        threading.Thread(target=guard.call, args=("incluirDocumento", call)) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak == 2
