"""Failed sign-ins counted per address and per key id from an address, in a file of fixed size
that every worker process of a node maps."""

from __future__ import annotations

import time

from registry.console.signin_limits import SignInFailures, SignInLimits

LIMITS = SignInLimits(window_seconds=60, per_key=3, per_address=5)


def test_a_key__is_locked_out_of_one_address_at_its_limit_and_not_before(tmp_path):
    failures = SignInFailures(tmp_path / "failures", LIMITS)
    for _ in range(LIMITS.per_key - 1):
        failures.failed("AKIAONE", "10.0.0.1")
    assert failures.retry_after("AKIAONE", "10.0.0.1") == 0

    failures.failed("AKIAONE", "10.0.0.1")
    assert 0 < failures.retry_after("AKIAONE", "10.0.0.1") <= LIMITS.window_seconds
    assert failures.retry_after("AKIATWO", "10.0.0.1") == 0


def test_failures_from_one_address__never_lock_the_key_out_of_another(tmp_path):
    failures = SignInFailures(tmp_path / "failures", LIMITS)
    for _ in range(LIMITS.per_address):
        failures.failed("AKIAVICTIM", "10.0.0.66")

    assert failures.retry_after("AKIAVICTIM", "10.0.0.66") > 0
    assert failures.retry_after("AKIAVICTIM", "10.0.0.1") == 0


def test_an_ipv6_client__counts_as_its_64(tmp_path):
    failures = SignInFailures(tmp_path / "failures", LIMITS)
    for attempt in range(LIMITS.per_address):
        failures.failed(f"AKIA{attempt}", f"2001:db8:0:1::{attempt + 1:x}")

    assert failures.retry_after("AKIANEVERTRIED", "2001:db8:0:1:ffff::1") > 0
    assert failures.retry_after("AKIANEVERTRIED", "2001:db8:0:2::1") == 0


def test_an_address__is_locked_out_whatever_key_it_tries(tmp_path):
    failures = SignInFailures(tmp_path / "failures", LIMITS)
    for attempt in range(LIMITS.per_address):
        failures.failed(f"AKIA{attempt}", "10.0.0.9")

    assert failures.retry_after("AKIANEVERTRIED", "10.0.0.9") > 0
    assert failures.retry_after("AKIANEVERTRIED", "10.0.0.8") == 0


def test_processes_sharing_the_file__count_together(tmp_path):
    one = SignInFailures(tmp_path / "failures", LIMITS)
    two = SignInFailures(tmp_path / "failures", LIMITS)
    one.failed("AKIAONE", "10.0.0.1")
    two.failed("AKIAONE", "10.0.0.1")
    one.failed("AKIAONE", "10.0.0.1")

    assert two.retry_after("AKIAONE", "10.0.0.1") > 0


def test_a_window_that_has_passed__counts_nothing(tmp_path):
    failures = SignInFailures(tmp_path / "failures", SignInLimits(window_seconds=1, per_key=1))
    failures.failed("AKIAONE", "10.0.0.1")
    assert failures.retry_after("AKIAONE", "10.0.0.1") > 0

    time.sleep(2.1)
    assert failures.retry_after("AKIAONE", "10.0.0.1") == 0


def test_memory_stays_bounded__and_the_latest_failures_still_count(tmp_path):
    path = tmp_path / "failures"
    failures = SignInFailures(path, LIMITS)
    size = path.stat().st_size
    for attempt in range(20_000):
        failures.failed(f"AKIASPRAY{attempt}", f"10.1.{attempt // 250}.{attempt % 250}")

    assert path.stat().st_size == size
    for _ in range(LIMITS.per_key):
        failures.failed("AKIATARGET", "10.9.9.9")
    assert failures.retry_after("AKIATARGET", "10.9.9.9") > 0
    assert failures.retry_after("AKIAOTHER", "10.9.9.9") == 0  # the key's count, not the address's
