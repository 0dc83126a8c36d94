"""Label values stay bounded whatever callers send or create."""

from __future__ import annotations

from registry.metrics.labels import OTHER, FunctionLabels, OperationLabels


def test_functions__past_the_cap_are_counted_together_and_the_first_keep_their_names():
    labels = FunctionLabels(limit=2)

    assert labels.of("111111111111", "a") == ("111111111111", "a")
    assert labels.of("111111111111", "b") == ("111111111111", "b")
    assert labels.of("111111111111", "c") == ("111111111111", OTHER)
    assert labels.of("222222222222", "a") == ("222222222222", OTHER)
    assert labels.of("111111111111", "a") == ("111111111111", "a")


def test_operations__past_the_cap_are_counted_together():
    labels = OperationLabels(limit=1)

    assert [labels.of(name) for name in ("PutMetricData", "Made", "PutMetricData")] == [
        "PutMetricData",
        OTHER,
        "PutMetricData",
    ]
