"""Helpers for tests that run functions: deployment packages with real handler code, and
creating and invoking functions through boto3."""

from __future__ import annotations

import json
import textwrap

from tests.support.zips import make_zip

ROLE = "arn:aws:iam::123456789012:role/strata-test"
RUNTIME = "python3.11"  # the interpreter the test machines have (Debian 12)


def handler_zip(source: str, module: str = "app", extra: dict | None = None) -> bytes:
    """A deployment package whose `module`.py is `source`."""
    return make_zip({f"{module}.py": textwrap.dedent(source), **(extra or {})})


ECHO = handler_zip(
    """
    def handler(event, context):
        return {"echo": event, "version": context.function_version}
    """
)


def create(lam, name: str, code: bytes = ECHO, **kwargs) -> dict:
    params = {
        "FunctionName": name,
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": code},
        "Timeout": 5,
        **kwargs,
    }
    created = lam.create_function(**params)
    wait_active(lam, name, created["Version"])
    return created


# Preparing a small function's bundle takes milliseconds: poll often rather than wait a second.
FAST_WAIT = {"Delay": 0.05, "MaxAttempts": 600}


def wait_active(lam, name: str, version: str = "$LATEST") -> None:
    """Until the function (and a version it published) is Active, as Invoke requires."""
    lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)
    if version != "$LATEST":
        lam.get_waiter("published_version_active").wait(
            FunctionName=name, Qualifier=version, WaiterConfig=FAST_WAIT
        )


def wait_updated(lam, name: str) -> None:
    """Until the last change to $LATEST is applied, as a further change requires."""
    lam.get_waiter("function_updated_v2").wait(FunctionName=name, WaiterConfig=FAST_WAIT)


def update_code(lam, **params) -> dict:
    """UpdateFunctionCode, then wait until it is applied (and a version it published is
    Active): Lambda refuses another change, or an Invoke of that version, until then."""
    answer = lam.update_function_code(**params)
    _settle(lam, params["FunctionName"], answer["Version"])
    return answer


def update_configuration(lam, **params) -> dict:
    """UpdateFunctionConfiguration, then wait until it is applied."""
    answer = lam.update_function_configuration(**params)
    _settle(lam, params["FunctionName"], answer["Version"])
    return answer


def publish(lam, **params) -> dict:
    """PublishVersion, then wait until the version is Active."""
    answer = lam.publish_version(**params)
    _settle(lam, params["FunctionName"], answer["Version"])
    return answer


def _settle(lam, name: str, version: str) -> None:
    wait_updated(lam, name)
    if version != "$LATEST":
        lam.get_waiter("published_version_active").wait(
            FunctionName=name, Qualifier=version, WaiterConfig=FAST_WAIT
        )


def invoke(lam, name: str, payload=None, **kwargs) -> tuple[dict, object]:
    """(response, decoded JSON payload) of a RequestResponse invocation."""
    body = json.dumps(payload if payload is not None else {}).encode()
    response = lam.invoke(FunctionName=name, Payload=body, **kwargs)
    raw = response["Payload"].read()
    return response, json.loads(raw) if raw else None
