"""An outage of the database or the blob store is logged once when it starts and once when it
ends, with a count in between at most once a minute: not a line, let alone a traceback, per
attempt of every background thread."""

from __future__ import annotations

import logging
import re
import threading
import time
import urllib.request

import pytest

from registry.errors import ServiceUnavailable
from registry.outages import Outage, one_line
from storage.errors import StorageUnavailable

LOGGER = "strata.test.outages"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def outage(clock):
    return Outage("event workers", logging.getLogger(LOGGER), clock=clock)


def messages(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == LOGGER]


def test_outage__logs_its_start_once_and_its_end_once_with_how_long_and_how_often(
    caplog, clock, outage
):
    caplog.set_level(logging.INFO, LOGGER)
    for _ in range(30):
        outage.failed(ServiceUnavailable("The metadata database is unavailable: refused"))
        clock.now += 1
    outage.recovered()
    outage.recovered()  # nothing more to say while all is well
    assert messages(caplog) == [
        "event workers failing: The metadata database is unavailable: refused",
        "event workers working again after 30.0 s and 30 failures",
    ]
    start, end = [r for r in caplog.records if r.name == LOGGER]
    assert start.levelno == logging.WARNING and start.exc_info is None
    assert end.fields == {"outage": "event workers", "failures": 30, "duration_s": 30.0}


def test_outage__that_goes_on_says_so_at_most_once_a_minute_with_the_failures_meanwhile(
    caplog, clock, outage
):
    caplog.set_level(logging.INFO, LOGGER)
    for _ in range(150):  # two and a half minutes, a failure a second
        outage.failed(StorageUnavailable("s3", "connection refused"))
        clock.now += 1
    lines = messages(caplog)
    assert len(lines) == 3
    assert lines[0] == "event workers failing: s3 storage unavailable: connection refused"
    still = "event workers still failing: 60 failures in the last 60 s; the last: s3 storage"
    assert lines[1:] == [f"{still} unavailable: connection refused"] * 2


def test_outage__a_new_one_after_recovery_is_logged_again(caplog, clock, outage):
    caplog.set_level(logging.INFO, LOGGER)
    outage.failed(ServiceUnavailable("down"))
    outage.recovered()
    outage.failed(ServiceUnavailable("down again"))
    assert messages(caplog)[-1] == "event workers failing: down again"
    assert outage.ongoing


def test_outage__an_unexpected_error_shows_its_traceback_once(caplog, clock, outage):
    caplog.set_level(logging.INFO, LOGGER)
    for _ in range(5):
        try:
            {}["missing"]
        except KeyError as error:
            outage.failed(error)
    records = [r for r in caplog.records if r.name == LOGGER]
    assert len(records) == 1
    assert records[0].exc_info is not None and records[0].exc_info[0] is KeyError
    assert "Traceback" in caplog.text and caplog.text.count("Traceback") == 1


def test_outage__threads_failing_together_tell_one_story(caplog):
    caplog.set_level(logging.INFO, LOGGER)
    outage = Outage("event workers", logging.getLogger(LOGGER))
    start = threading.Barrier(8)

    def fail_often():
        start.wait()
        for _ in range(200):
            outage.failed(ServiceUnavailable("down"))

    threads = [threading.Thread(target=fail_often) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outage.recovered()
    assert messages(caplog)[0] == "event workers failing: down"
    assert re.fullmatch(
        r"event workers working again after \d+\.\d s and 1600 failures", messages(caplog)[1]
    )
    assert len(messages(caplog)) == 2


def test_one_line__a_drivers_message_over_several_lines_becomes_one_short_line():
    error = ServiceUnavailable(
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: refused\n'
        "\tIs the server running on that host and accepting TCP/IP connections?"
    )
    assert "\n" not in one_line(error) and "\t" not in one_line(error)
    assert one_line(error).endswith("accepting TCP/IP connections?")
    assert len(one_line(ServiceUnavailable("x" * 5000))) == 300


# -- a real server's background threads while its database is down ----------------------------

LOOPS = (
    "provisioned concurrency sync",
    "event workers",
    "concurrency holds upkeep",
    "bundle preparation sweep",
)
WORKERS = 2  # tests/support/server.py starts every server with two


def _database_down(server, postgres_cluster, allowed: bool) -> None:
    postgres_cluster.allow_connections(server.database_url.rsplit("/", 1)[1], allowed)


def _every_worker_booted(server) -> None:
    """Until each worker has answered a request: one still booting when the database goes down
    would fail to boot (its dev account is seeded at boot), and take the server down with it."""
    pids: set[str] = set()
    deadline = time.monotonic() + 30
    while len(pids) < WORKERS and time.monotonic() < deadline:
        with urllib.request.urlopen(server.url + "/healthz", timeout=5):
            pass
        pids = set(re.findall(r"\[(\d+)\] INFO strata.requests: request ", server.log()))
    assert len(pids) == WORKERS, server.log()


def _lines(log: str, text: str) -> list[str]:
    return [line for line in log.splitlines() if text in line]


@pytest.mark.slow
def test_database_outage__every_background_loop_logs_its_start_and_its_end_once(
    own_pg_s3_server, postgres_cluster
):
    server, _ = own_pg_s3_server
    _every_worker_booted(server)
    server.db.dispose()
    before = len(server.log().splitlines())
    _database_down(server, postgres_cluster, allowed=False)
    try:
        # Long enough for every loop to fail several times: the slowest tries every 5 s.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            log = "\n".join(server.log().splitlines()[before:])
            if all(_lines(log, f"{loop} failing:") for loop in LOOPS):
                break
            time.sleep(0.2)
        time.sleep(3)  # several more attempts of the fast loops, each once a second or faster
    finally:
        _database_down(server, postgres_cluster, allowed=True)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = "\n".join(server.log().splitlines()[before:])
        if all(len(_lines(log, f"{loop} working again")) == WORKERS for loop in LOOPS):
            break
        time.sleep(0.2)
    for loop in LOOPS:
        assert len(_lines(log, f"{loop} failing:")) == WORKERS, (loop, log)
        assert len(_lines(log, f"{loop} working again")) == WORKERS, (loop, log)
        assert not _lines(log, f"{loop} still failing")
    assert "Traceback" not in log, log
    # Each failing line says what failed, in one line, without the database's address.
    for line in _lines(log, "provisioned concurrency sync failing:"):
        assert "The metadata database is unavailable" in line
