"""The built-in python bootstrap: Lambda's handler semantics, context object and logging."""

from __future__ import annotations

import json

import pytest

from registry.executor import EnvironmentPool, InterpreterNotFound
from registry.executor.interpreters import find_python
from tests.executor.conftest import spec_for, strict_available
from tests.support import require_service

PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/mod.py": """
        import logging
        logger = logging.getLogger()
        logger.setLevel(logging.INFO)

        def handler(event, context):
            logger.info("via logging")
            return {
                "function_name": context.function_name,
                "function_version": context.function_version,
                "invoked_function_arn": context.invoked_function_arn,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "aws_request_id": context.aws_request_id,
                "log_group_name": context.log_group_name,
                "log_stream_name": context.log_stream_name,
                "remaining": context.get_remaining_time_in_millis(),
                "client_context": context.client_context,
            }

        def unserialisable(event, context):
            return {1, 2}
    """,
}


@pytest.fixture(scope="module")
def package(bundles):
    return bundles(task=PACKAGE)


def test_handler__path_style_module_and_context_object(pool, package):
    spec = spec_for(
        package,
        handler="pkg/mod.handler",
        memory_mb=256,
        timeout_s=5,
        function_name="ctx-fn",
        function_version="7",
        function_arn="arn:aws:lambda:eu-west-1:123456789012:function:ctx-fn:7",
    )

    result = pool.invoke(
        spec, b"{}", request_id="req-123", client_context=json.dumps({"custom": {"k": "v"}})
    )

    assert result.outcome == "success", result.payload
    context = json.loads(result.payload)
    assert {
        k: context[k]
        for k in (
            "function_name",
            "function_version",
            "invoked_function_arn",
            "memory_limit_in_mb",
            "aws_request_id",
            "log_group_name",
        )
    } == {
        "function_name": "ctx-fn",
        "function_version": "7",
        "invoked_function_arn": "arn:aws:lambda:eu-west-1:123456789012:function:ctx-fn:7",
        "memory_limit_in_mb": "256",
        "aws_request_id": "req-123",
        "log_group_name": "/aws/lambda/ctx-fn",
    }
    assert context["log_stream_name"].split("/")[-1].startswith("[7]")
    assert 4000 < context["remaining"] <= 5000
    assert context["client_context"] == {"custom": {"k": "v"}}
    assert "[INFO]\t" in result.logs and "\treq-123\tvia logging" in result.logs


def test_handler__dotted_module_name_works_too(pool, package):
    assert pool.invoke(spec_for(package, handler="pkg.mod.handler"), b"{}").outcome == "success"


def test_handler__unserialisable_result_is_a_marshal_error(pool, package):
    result = pool.invoke(spec_for(package, handler="pkg/mod.unserialisable"), b"{}")
    error = json.loads(result.payload)
    assert error["errorType"] == "Runtime.MarshalError"
    assert "is not JSON serializable" in error["errorMessage"]


def test_handler__malformed_name_is_an_init_error(pool, package):
    result = pool.invoke(spec_for(package, handler="nodot"), b"{}")
    assert result.outcome == "init_error"
    assert json.loads(result.payload)["errorType"] == "Runtime.MalformedHandlerName"


def test_interpreter__a_private_pyenv_python_is_shown_at_var_lang_in_strict_sandboxes(
    host, bundles
):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroup v1")
    try:
        interpreter = find_python("3.12")
    except InterpreterNotFound:
        interpreter = None
    require_service(interpreter is not None, "no python3.12 on this host")
    bundle = bundles(
        task={
            "app.py": """
        import sys
        def handler(event, context):
            return {"version": list(sys.version_info[:2]), "executable": sys.executable}
    """
        }
    )
    with EnvironmentPool(host=host) as pool:
        result = pool.invoke(spec_for(bundle, runtime="python3.12", isolation="strict"), b"{}")
    assert result.outcome == "success", result.logs
    answer = json.loads(result.payload)
    # As on Lambda, and without naming the host's installation path.
    assert answer == {"version": [3, 12], "executable": f"/var/lang/bin/{interpreter.path.name}"}
