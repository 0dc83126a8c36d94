"""Invoking through a weighted alias: each invocation runs one of the alias's two versions, drawn
by weight, and X-Amz-Executed-Version names the one that ran. Every runtime's context carries the
ARN the caller used: unqualified, with a version, or with the alias."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.support.functions import create, handler_zip, invoke, wait_updated
from tests.support.zips import make_zip

REPORTS_ITS_VERSION = handler_zip(
    """
    def handler(event, context):
        return {"version": context.function_version, "arn": context.invoked_function_arn}
    """
)

# A custom runtime that answers each event with the ARN the Runtime API gave it.
ARN_ECHOING_BOOTSTRAP = r"""#!/usr/bin/python3.11
import json, os, urllib.request

api = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2018-06-01/runtime/invocation/"
while True:
    with urllib.request.urlopen(api + "next") as event:
        request_id = event.headers["Lambda-Runtime-Aws-Request-Id"]
        arn = event.headers["Lambda-Runtime-Invoked-Function-Arn"]
        event.read()
    answer = json.dumps({"arn": arn}).encode()
    urllib.request.urlopen(urllib.request.Request(api + request_id + "/response", data=answer))
"""


def two_versions(lam, name: str, code: bytes) -> None:
    create(lam, name, code, Publish=True)
    lam.update_function_configuration(FunctionName=name, Timeout=6)
    wait_updated(lam, name)
    lam.publish_version(FunctionName=name)


def test_invoke__a_weighted_alias_splits_invocations_and_names_the_version_that_ran(lam):
    two_versions(lam, "canary", REPORTS_ITS_VERSION)
    lam.create_alias(
        FunctionName="canary",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}},
    )
    ran = Counter()
    for _ in range(200):
        response, payload = invoke(lam, "canary", Qualifier="live")
        # The header and the handler agree on which version ran.
        assert response["ExecutedVersion"] == payload["version"]
        ran[payload["version"]] += 1
    assert set(ran) == {"1", "2"}
    assert 30 <= ran["2"] <= 90, ran  # 30% of 200 is 60; a fair draw stays well within this


def test_invoke__a_weight_of_zero_or_one_sends_every_invocation_one_way(lam):
    two_versions(lam, "all-or-nothing", REPORTS_ITS_VERSION)
    for weight, expected in ((0.0, "1"), (1.0, "2")):
        lam.create_alias(
            FunctionName="all-or-nothing",
            Name=f"w{int(weight)}",
            FunctionVersion="1",
            RoutingConfig={"AdditionalVersionWeights": {"2": weight}},
        )
        executed = {
            invoke(lam, "all-or-nothing", Qualifier=f"w{int(weight)}")[0]["ExecutedVersion"]
            for _ in range(20)
        }
        assert executed == {expected}


# How a caller may name the function, and what its ARN then ends with.
FORMS = [
    ("{name}", None, ""),
    ("{arn}", None, ""),
    ("{account}:function:{name}", None, ""),
    ("{name}", "$LATEST", ":$LATEST"),
    ("{name}", "1", ":1"),
    ("{name}:1", None, ":1"),
    ("{name}", "live", ":live"),
    ("{arn}:live", None, ":live"),
]


@pytest.mark.parametrize("runtime", ["python", "custom"])
def test_invoke__the_context_carries_the_arn_the_caller_used(lam, account, runtime):
    name = f"invoked-{runtime}"
    if runtime == "python":
        create(lam, name, REPORTS_ITS_VERSION, Publish=True)
    else:
        code = make_zip({"bootstrap": ARN_ECHOING_BOOTSTRAP}, modes={"bootstrap": 0o755})
        create(lam, name, code, Runtime="provided.al2023", Handler="unused", Publish=True)
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:{name}"
    for called, qualifier, suffix in FORMS:
        function_name = called.format(name=name, arn=arn, account=account.account_id)
        extra = {"Qualifier": qualifier} if qualifier else {}
        response, payload = invoke(lam, function_name, **extra)
        assert "FunctionError" not in response, payload
        assert payload["arn"] == arn + suffix, (function_name, qualifier)
