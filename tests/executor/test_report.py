"""Lambda's REPORT line."""

from registry.executor.report import Report


def test_report_line__billed_duration_rounds_up_to_the_millisecond():
    report = Report(request_id="r1", duration_ms=12.01, memory_size_mb=128, max_memory_used_mb=31)
    assert report.billed_duration_ms == 13
    assert report.line() == (
        "REPORT RequestId: r1\tDuration: 12.01 ms\tBilled Duration: 13 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 31 MB\t"
    )


def test_report_line__init_duration_only_on_cold_starts():
    cold = Report("r2", 1.0, 256, 40, init_duration_ms=55.556)
    assert cold.line().endswith("Max Memory Used: 40 MB\tInit Duration: 55.56 ms\t")
