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
    return lam.create_function(**params)


def invoke(lam, name: str, payload=None, **kwargs) -> tuple[dict, object]:
    """(response, decoded JSON payload) of a RequestResponse invocation."""
    body = json.dumps(payload if payload is not None else {}).encode()
    response = lam.invoke(FunctionName=name, Payload=body, **kwargs)
    raw = response["Payload"].read()
    return response, json.loads(raw) if raw else None
