"""The AWS/Lambda statistics read back from the per-minute rows, as GetMetricStatistics and
GetMetricData answer them."""

from __future__ import annotations

import pytest

from registry.errors import InvalidParameterCombination, InvalidParameterValue, MissingParameter
from registry.usage import metrics
from registry.usage.metrics import MetricQuery
from registry.usage.recorder import UsageRecorder
from tests.usage.records import new_account_id, ran, throttled

T0 = 1_800_000_000  # a minute's start


def query(name: str, function: str | None = "fn", period: int = 60, **kwargs) -> MetricQuery:
    return MetricQuery(
        namespace=kwargs.pop("namespace", "AWS/Lambda"),
        metric_name=name,
        dimensions={"FunctionName": function} if function else {},
        start=kwargs.pop("start", T0),
        end=kwargs.pop("end", T0 + 600),
        period=period,
        **kwargs,
    )


@pytest.fixture
def account(db):
    """Two minutes of `fn` (3 invocations, one failing; 1 throttle) and one of `other`."""
    account_id = new_account_id()
    running = iter([0, 2, 0, 0])
    recorder = UsageRecorder(db, running=lambda _: next(running))
    recorder.ran(ran(account_id, duration_ms=10.0, at=T0 + 1))
    recorder.ran(ran(account_id, duration_ms=30.0, outcome="function_error", at=T0 + 2))
    recorder.ran(ran(account_id, duration_ms=20.0, at=T0 + 61))
    recorder.throttled(throttled(account_id, at=T0 + 62))
    recorder.ran(ran(account_id, "other", duration_ms=5.0, at=T0 + 3))
    recorder.flush()
    return account_id


def points(db, account_id, q) -> list[tuple]:
    return [
        (p.timestamp, p.sample_count, p.sum, p.minimum, p.maximum, p.unit)
        for p in metrics.datapoints(db, account_id, q)
    ]


def test_invocations__one_sample_per_invocation_per_period(db, account):
    assert points(db, account, query("Invocations")) == [
        (T0, 2, 2, 1, 1, "Count"),
        (T0 + 60, 1, 1, 1, 1, "Count"),
    ]
    assert points(db, account, query("Invocations", period=300)) == [(T0, 3, 3, 1, 1, "Count")]


def test_errors__a_zero_or_one_per_invocation(db, account):
    (point,) = metrics.datapoints(db, account, query("Errors", period=300))
    assert (point.sample_count, point.sum, point.minimum, point.maximum) == (3, 1, 0, 1)
    assert point.average == pytest.approx(1 / 3)


def test_duration__milliseconds_of_each_invocation(db, account):
    (point,) = metrics.datapoints(db, account, query("Duration", period=300))
    assert (point.sample_count, point.sum, point.minimum, point.maximum) == (3, 60.0, 10.0, 30.0)
    assert (point.average, point.unit) == (20.0, "Milliseconds")


def test_throttles__only_in_the_minutes_that_had_them(db, account):
    assert points(db, account, query("Throttles")) == [(T0 + 60, 1, 1, 1, 1, "Count")]


def test_concurrent_executions__the_peak_of_each_minute(db, account):
    assert points(db, account, query("ConcurrentExecutions", period=300)) == [
        (T0, 2, 4, 1, 3, "Count")
    ]


def test_no_dimension__all_of_the_accounts_functions(db, account):
    assert points(db, account, query("Invocations", function=None, period=300)) == [
        (T0, 4, 4, 1, 1, "Count")
    ]
    # executions of every function at once: fn's 3 and other's 1 in the first minute
    (first, _) = metrics.datapoints(db, account, query("ConcurrentExecutions", function=None))
    assert first.maximum == 4


def test_another_account__sees_none_of_these_figures(db, account):
    assert metrics.datapoints(db, new_account_id(), query("Invocations")) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"namespace": "AWS/EC2"},
        {"unit": "Seconds"},
        {"start": T0 + 600, "end": T0 + 1200},
    ],
)
def test_datapoints__none_for_what_was_not_emitted(db, account, changes):
    assert metrics.datapoints(db, account, query("Invocations", **changes)) == []
    assert metrics.datapoints(db, account, query("CPUUtilization")) == []
    unknown_dimension = MetricQuery(
        "AWS/Lambda", "Invocations", {"Resource": "fn:1"}, T0, T0 + 60, 60
    )
    assert metrics.datapoints(db, account, unknown_dimension) == []


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"period": 30}, InvalidParameterValue, "Period must be a multiple of 60"),
        ({"period": 90}, InvalidParameterValue, "Period must be a multiple of 60"),
        ({"start": T0 + 60, "end": T0 + 60}, InvalidParameterValue, "StartTime must be less"),
        ({"end": T0 + 1441 * 60}, InvalidParameterCombination, "up to 1,441 datapoints"),
    ],
)
def test_datapoints__refuses_what_cloudwatch_refuses(db, account, changes, error, message):
    changes = dict(changes)  # the parameters are shared by both backends
    period = changes.pop("period", 60)
    with pytest.raises(error, match=message):
        metrics.datapoints(db, account, query("Invocations", period=period, **changes))


def test_statistics__named_ones_only():
    assert metrics.check_statistics(["Sum", "Maximum"]) == ["Sum", "Maximum"]
    with pytest.raises(MissingParameter):
        metrics.check_statistics([])
    with pytest.raises(InvalidParameterValue, match="'p99'"):
        metrics.check_statistics(["p99"])
    with pytest.raises(InvalidParameterValue, match="ExtendedStatistics"):
        metrics.check_statistics([], ["p99"])


def test_list_metrics__each_function_that_ran_lately_and_the_account_as_a_whole(db, account):
    listed = metrics.list_metrics(db, account, now=T0 + 3600)
    names = {(m.metric_name, m.dimensions.get("FunctionName")) for m in listed}
    assert names == {
        (metric, function) for metric in metrics.UNITS for function in ("fn", "other", None)
    }
    only_fn = metrics.list_metrics(
        db, account, metric_name="Errors", dimensions={"FunctionName": "fn"}, now=T0
    )
    assert [(m.metric_name, m.dimensions) for m in only_fn] == [("Errors", {"FunctionName": "fn"})]
    assert metrics.list_metrics(db, account, now=T0 + 15 * 86400) == []
    assert metrics.list_metrics(db, new_account_id(), now=T0) == []
