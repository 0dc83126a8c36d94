"""Which pool serves a request, told from its head alone."""

from __future__ import annotations

import json

import pytest

from registry.front.traffic import (
    DEFAULT_INVOCATION_THREADS,
    Traffic,
    invocation_threads,
    throttled_answer,
    traffic_of,
)

INVOKE = "/2015-03-31/functions/my-function/invocations"


@pytest.mark.parametrize(
    "path",
    [
        INVOKE,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af/invocations",
        "/2015-03-31/functions/f:live/invocations",
    ],
)
def test_traffic_of__a_synchronous_invoke_waits_on_its_function(path):
    assert traffic_of("POST", path, []) is Traffic.INVOCATION
    headers = [("X-AMZ-INVOCATION-TYPE", "RequestResponse")]
    assert traffic_of("POST", path, headers) is Traffic.INVOCATION


@pytest.mark.parametrize("invocation_type", ["Event", "DryRun"])
def test_traffic_of__invocations_that_answer_at_once_stay_with_the_registry(invocation_type):
    headers = [("X-AMZ-INVOCATION-TYPE", invocation_type)]
    assert traffic_of("POST", INVOKE, headers) is Traffic.CONTROL


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", INVOKE),
        ("GET", "/2018-10-31/layers/fetched/versions/1"),
        ("GET", "/2015-03-31/functions/"),
        ("POST", "/2015-03-31/functions/f/invocations/extra"),
        ("POST", "/2015-03-31/functions"),
        ("POST", "/readyz"),
        ("GET", "/readyz/extra"),
    ],
)
def test_traffic_of__everything_else_is_the_control_plane(method, path):
    assert traffic_of(method, path, []) is Traffic.CONTROL


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_traffic_of__health_checks_have_threads_of_their_own(path):
    assert traffic_of("GET", path, []) is Traffic.PROBE


def test_invocation_threads__default_and_setting():
    assert invocation_threads({}) == DEFAULT_INVOCATION_THREADS
    assert invocation_threads({"STRATA_INVOCATION_THREADS": "64"}) == 64
    for wrong in ("0", "-3", "many"):
        with pytest.raises(ValueError, match="STRATA_INVOCATION_THREADS"):
            invocation_threads({"STRATA_INVOCATION_THREADS": wrong})


def test_throttled_answer__is_lambdas_throttle_in_one_complete_response():
    head, _, body = throttled_answer(keep_alive=True).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "HTTP/1.1 429 Too Many Requests"
    assert "x-amzn-ErrorType: TooManyRequestsException" in lines
    assert "Connection: keep-alive" in lines
    assert f"Content-Length: {len(body)}" in lines
    assert json.loads(body)["Reason"] == "ConcurrentInvocationLimitExceeded"
    assert b"Connection: close" in throttled_answer(keep_alive=False)
