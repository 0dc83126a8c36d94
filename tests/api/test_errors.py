"""The one error table: client errors say what was wrong; server errors say only the request id."""

from __future__ import annotations

import logging

import pytest
from flask import Flask, g

from registry import errors
from registry.api import errors as api_errors
from registry.executor.errors import InterpreterNotFound, IsolationUnavailable, SandboxError
from storage import errors as storage_errors

INTERNAL = "postgresql://strata@10.1.2.3:5432/strata bucket=tenant-blobs key=blobs/sha256/ab/abcdef"


def _app(error: BaseException) -> Flask:
    app = Flask("errors-test")
    api_errors.register(app)

    @app.before_request
    def _request_id():
        g.request_id = "req-123"

    @app.get("/fail")
    def fail():
        raise error

    return app


def _answer(error: BaseException) -> tuple[int, dict, dict]:
    response = _app(error).test_client().get("/fail")
    return response.status_code, response.get_json(), dict(response.headers)


@pytest.mark.parametrize(
    "error",
    [
        errors.ServiceUnavailable(f"The metadata database is unavailable: {INTERNAL}"),
        storage_errors.StorageUnavailable("s3", INTERNAL),
        storage_errors.StorageError(INTERNAL),
        SandboxError(f"cannot mount {INTERNAL}"),
        RuntimeError(INTERNAL),
        KeyError(INTERNAL),
    ],
    ids=lambda e: type(e).__name__,
)
def test_server_error__names_only_the_request_id_and_logs_the_detail(error, caplog):
    with caplog.at_level(logging.ERROR, logger="registry.api.errors"):
        status, body, headers = _answer(error)

    assert status == 500
    assert headers["x-amzn-ErrorType"] == body["__type"] == "ServiceException"
    assert body["Type"] == "Service"
    assert body["Message"] == "An internal error occurred; retry later. Request id: req-123."
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "req-123" in logged and "10.1.2.3:5432" in logged and type(error).__name__ in logged


def test_isolation_refusal__says_which_limits_are_missing_but_not_why(caplog):
    error = IsolationUnavailable({"cgroups": f"cannot write {INTERNAL}", "netns": "disabled"})
    with caplog.at_level(logging.ERROR, logger="registry.api.errors"):
        status, body, _ = _answer(error)

    assert status == 500
    assert body["Message"] == (
        "strict isolation is not available on this host (missing: cgroups, netns). "
        "Request id: req-123."
    )
    assert "10.1.2.3" in "\n".join(record.getMessage() for record in caplog.records)


def test_missing_interpreter__tells_the_client_what_to_do_but_not_where_the_host_looked(caplog):
    error = InterpreterNotFound(
        "no python3.9 interpreter found on this host (looked in /opt/secret/bin)"
    )
    with caplog.at_level(logging.WARNING, logger="registry.api.errors"):
        status, body, headers = _answer(error)

    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidParameterValueException")
    assert "/opt/secret" not in body["message"] and "interpreter" in body["message"]
    assert body["message"].endswith("Request id: req-123.")
    assert "/opt/secret/bin" in "\n".join(record.getMessage() for record in caplog.records)


def test_client_error__keeps_its_message():
    status, body, headers = _answer(
        errors.InvalidParameterValue("MemorySize must be at least 128.")
    )

    assert (status, headers["x-amzn-ErrorType"]) == (400, "InvalidParameterValueException")
    assert body["message"] == "MemorySize must be at least 128."


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


# AuthError is only a base: what is raised is one of its subclasses, each with a row of its own.
RAISED = sorted(
    set(_subclasses(errors.StrataError)) - {errors.AuthError}, key=lambda c: c.__qualname__
)


@pytest.mark.parametrize("cls", RAISED, ids=lambda c: c.__name__)
def test_every_domain_error__has_a_row_in_the_table(cls):
    assert any(base in api_errors.ERROR_TABLE for base in cls.__mro__), (
        f"{cls.__name__} has no AWS error mapping"
    )
