"""Who may read /metrics, decided from the settings, the Authorization header and the listener a
request arrived at."""

from __future__ import annotations

import pytest

from registry.config import Settings
from registry.metrics.access import MetricsAccess, Verdict


def access(**settings: str) -> MetricsAccess:
    return MetricsAccess.from_settings(Settings.from_env(settings))


@pytest.mark.parametrize(
    "authorization, verdict",
    [
        (None, Verdict.NO_TOKEN),
        ("Basic dXNlcjpwdw==", Verdict.NO_TOKEN),
        ("Bearer ", Verdict.NO_TOKEN),
        ("Bearer wrong", Verdict.WRONG_TOKEN),
        ("Bearer tok3n-tok3n", Verdict.ALLOWED),
        ("bearer tok3n-tok3n", Verdict.ALLOWED),
    ],
)
def test_token__only_the_bearer_of_the_configured_token_may_read(authorization, verdict):
    assert access(STRATA_METRICS_TOKEN="tok3n-tok3n").verdict(authorization, False) is verdict


def test_token__is_required_in_dev_mode_too_once_configured():
    configured = access(STRATA_METRICS_TOKEN="tok3n-tok3n", STRATA_DEV="1")
    assert configured.verdict(None, False) is Verdict.NO_TOKEN


def test_unprotected__metrics_are_open_in_dev_mode_only():
    assert access(STRATA_DEV="1").verdict(None, False) is Verdict.ALLOWED
    assert access().verdict(None, False) is Verdict.UNCONFIGURED


def test_bind__metrics_answer_on_their_listener_alone_and_with_the_token_if_one_is_set():
    bound = access(STRATA_METRICS_BIND="127.0.0.1:9464")
    assert bound.verdict(None, True) is Verdict.ALLOWED
    assert bound.verdict(None, False) is Verdict.ELSEWHERE
    both = access(STRATA_METRICS_BIND="127.0.0.1:9464", STRATA_METRICS_TOKEN="t")
    assert both.verdict(None, True) is Verdict.NO_TOKEN
    assert both.verdict("Bearer t", False) is Verdict.ELSEWHERE


@pytest.mark.parametrize(
    "bind, server_name, server_port, listener",
    [
        ("127.0.0.1:9464", "127.0.0.1", "9464", True),
        ("127.0.0.1:9464", "127.0.0.1", "8000", False),
        ("127.0.0.1:9464", "10.1.2.3", "9464", False),
        ("localhost:9464", "127.0.0.1", "9464", True),
        ("0.0.0.0:9464", "10.1.2.3", "9464", True),
        ("[::1]:9464", "::1", "9464", True),
    ],
)
def test_bind__a_request_is_on_the_metrics_listener_by_the_address_that_accepted_it(
    bind, server_name, server_port, listener
):
    bound = access(STRATA_METRICS_BIND=bind)
    assert bound.on_metrics_listener(server_name, server_port) is listener


@pytest.mark.parametrize("value", ["9464", "http://127.0.0.1:9464", "127.0.0.1:", "host:port"])
def test_bind__that_is_not_host_and_port_is_refused_at_startup(value):
    with pytest.raises(ValueError, match="STRATA_METRICS_BIND"):
        Settings.from_env({"STRATA_METRICS_BIND": value})
