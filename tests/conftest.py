"""Suite-wide configuration. Fixtures shared across packages (PostgreSQL, S3 server, Strata server,
the registry's services on a migrated database) live in tests/support."""

import pytest

pytest_plugins = [
    "tests.support.fixtures",
    "tests.support.server_fixtures",
    "tests.support.service_fixtures",
]


_STARTED = pytest.StashKey[int]()


def pytest_sessionstart(session):
    from tests.support.leftovers import boot_ticks_now

    session.config.stash[_STARTED] = boot_ticks_now()


@pytest.hookimpl(trylast=True)  # after xdist has stopped its workers
def pytest_sessionfinish(session, exitstatus):
    """The run fails if it left mounts, loop devices, cgroups, work directories or sandbox
    processes behind (checked once, by the xdist controller after its workers have exited)."""
    if hasattr(session.config, "workerinput"):
        return
    from tests.support.leftovers import describe, left_since

    found = left_since(session.config.stash[_STARTED])
    if not found:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["the test run left these behind:", *describe(found)]
    if reporter is not None:
        reporter.write("\n")
        for line in lines:
            reporter.write_line(line, red=True)
    else:
        print("\n".join(lines))
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
