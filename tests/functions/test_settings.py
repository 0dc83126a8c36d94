"""Function settings: the environment checks done before anything is stored."""

from __future__ import annotations

import pytest

from registry.errors import InvalidParameterValue
from registry.executor.spec import RESERVED_ENV
from registry.functions import settings as function_settings

# AWS's documented reserved names (Lambda developer guide, "Defined runtime environment variables").
AWS_RESERVED = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
}


def test_reserved_names__are_exactly_awss():
    assert RESERVED_ENV == AWS_RESERVED


@pytest.mark.parametrize("name", sorted(AWS_RESERVED))
def test_reserved_name__is_refused_with_awss_message(name):
    with pytest.raises(InvalidParameterValue) as refused:
        function_settings.check({"environment": {"FINE": "1", name: "x"}})
    assert str(refused.value).endswith(f"Reserved keys used in this request: {name}")


def test_reserved_names__all_of_them_are_listed_sorted():
    with pytest.raises(InvalidParameterValue) as refused:
        function_settings.check({"environment": {"AWS_REGION": "x", "LAMBDA_TASK_ROOT": "y"}})
    assert str(refused.value).endswith(
        "Reserved keys used in this request: AWS_REGION, LAMBDA_TASK_ROOT"
    )


def test_loader_variables__are_ordinary_names_a_function_may_set():
    env = {
        "LD_PRELOAD": "/var/task/x.so",
        "LD_LIBRARY_PATH": "/var/task/lib",
        "PATH": "/x",
        "PYTHONPATH": "/var/task/p",
        "NODE_OPTIONS": "--max-old-space-size=64",
    }
    assert function_settings.check({"environment": env}) == {"environment": env}


def test_nul_in_a_value__is_refused():
    with pytest.raises(InvalidParameterValue, match="NUL character; found in: SPLIT"):
        function_settings.check({"environment": {"SPLIT": "a\0--bind\0/\0/host"}})
