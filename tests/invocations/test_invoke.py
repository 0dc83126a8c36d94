"""Invoke through boto3: real handler code in the executor, answered as Lambda answers."""

from __future__ import annotations

import base64
import json
import time

import pytest

from tests.support.functions import create, handler_zip, invoke, update_code, update_configuration
from tests.support.provisioned import wait_provisioned


def returns(text: str) -> bytes:
    return handler_zip(f"def handler(event, context):\n    return {text!r}\n")


def test_invoke__qualifiers_run_that_versions_code_after_latest_changed(lam):
    create(lam, "versioned", returns("one"), Publish=True)
    update_code(lam, FunctionName="versioned", ZipFile=returns("two"), Publish=True)
    lam.create_alias(FunctionName="versioned", Name="stable", FunctionVersion="1")
    update_code(lam, FunctionName="versioned", ZipFile=returns("three"))

    response, payload = invoke(lam, "versioned")
    assert (payload, response["ExecutedVersion"]) == ("three", "$LATEST")
    response, payload = invoke(lam, "versioned", Qualifier="1")
    assert (payload, response["ExecutedVersion"]) == ("one", "1")
    response, payload = invoke(lam, "versioned:2")
    assert (payload, response["ExecutedVersion"]) == ("two", "2")
    response, payload = invoke(lam, "versioned", Qualifier="stable")
    assert (payload, response["ExecutedVersion"]) == ("one", "1")
    lam.update_alias(FunctionName="versioned", Name="stable", FunctionVersion="2")
    assert invoke(lam, "versioned", Qualifier="stable")[1] == "two"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        invoke(lam, "versioned", Qualifier="7")


def test_invoke__configuration_reaches_the_handler(lam):
    code = handler_zip(
        """
        import os

        def handler(event, context):
            return {
                "greeting": os.environ["GREETING"],
                "memory": context.memory_limit_in_mb,
                "name": context.function_name,
                "arn": context.invoked_function_arn,
                "remaining_ms_positive": context.get_remaining_time_in_millis() > 0,
            }
        """
    )
    create(
        lam, "configured-run", code, MemorySize=256, Environment={"Variables": {"GREETING": "hi"}}
    )
    _, payload = invoke(lam, "configured-run")
    assert (payload["greeting"], payload["memory"], payload["name"]) == (
        "hi",
        "256",
        "configured-run",
    )
    assert (
        payload["arn"].endswith(":function:configured-run")  # as called: by name, unqualified
        and payload["remaining_ms_positive"]
    )
    update_configuration(
        lam, FunctionName="configured-run", Environment={"Variables": {"GREETING": "hello"}}
    )
    assert invoke(lam, "configured-run")[1]["greeting"] == "hello"


def test_invoke__function_error_is_200_with_unhandled_and_the_error_document(lam):
    create(
        lam, "raises", handler_zip("def handler(event, context):\n    raise ValueError('boom')\n")
    )
    response, payload = invoke(lam, "raises")
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError" and payload["errorMessage"] == "boom"
    assert isinstance(payload["stackTrace"], list)


def test_invoke__timeout_answers_lambdas_task_timed_out(lam):
    create(
        lam,
        "sleepy",
        handler_zip("import time\n\ndef handler(event, context):\n    time.sleep(10)\n"),
        Timeout=1,
    )
    started = time.monotonic()
    response, payload = invoke(lam, "sleepy")
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in payload["errorMessage"]
    assert (
        invoke(lam, "sleepy", {"again": True})[0]["FunctionError"] == "Unhandled"
    )  # a fresh environment


def test_invoke__out_of_memory_is_a_function_error(lam):
    create(
        lam,
        "hungry",
        handler_zip(
            "def handler(event, context):\n"
            "    blob = bytearray(400 * 1024 * 1024)\n"
            "    return len(blob)\n"
        ),
    )
    response, payload = invoke(lam, "hungry", LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] in ("Runtime.OutOfMemory", "MemoryError")
    assert "Memory Size: 128 MB" in base64.b64decode(response["LogResult"]).decode()


def test_invoke__log_tail_is_the_last_4_kb_with_the_report_line(lam):
    create(
        lam,
        "chatty",
        handler_zip(
            "def handler(event, context):\n"
            "    print('x' * 9000)\n"
            "    print('last words')\n"
            "    return 1\n"
        ),
    )
    response, _ = invoke(lam, "chatty", LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert len(log) <= 4096
    text = log.decode()
    assert "last words" in text and "REPORT RequestId:" in text and "Billed Duration:" in text
    assert "LogResult" not in invoke(lam, "chatty")[0]


def test_invoke__payload_that_is_not_json_is_passed_to_the_runtime(lam, strata_server):
    create(lam, "raw")
    response = lam.invoke(FunctionName="raw", Payload=b"not json {")
    payload = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.UnmarshalError"


def test_invoke__payload_limits_are_request_too_large(lam):
    create(lam, "limits")
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(FunctionName="limits", Payload=b'"' + b"x" * (6 * 1024 * 1024) + b'"')
    with pytest.raises(lam.exceptions.RequestTooLargeException):
        lam.invoke(
            FunctionName="limits", InvocationType="Event", Payload=b'"' + b"x" * (256 * 1024) + b'"'
        )


def test_invoke__dry_run_is_204_after_checking_the_function(lam, strata_server):
    create(lam, "dry")
    assert lam.invoke(FunctionName="dry", InvocationType="DryRun")["StatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="wet", InvocationType="DryRun")
    other = strata_server.client(strata_server.new_account())
    arn = lam.get_function_configuration(FunctionName="dry")["FunctionArn"]
    with pytest.raises(Exception) as denied:
        other.invoke(FunctionName=arn, InvocationType="DryRun")
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"


def test_invoke__runtime_the_executor_cannot_run_is_a_clear_error(lam):
    create(lam, "java", Runtime="java21", Handler="example.Handler::handleRequest")
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        invoke(lam, "java")
    assert "java21" in refused.value.response["Error"]["Message"]


def test_invoke__warm_environment_keeps_module_state(lam):
    code = handler_zip(
        "COUNT = 0\n\n"
        "def handler(event, context):\n    global COUNT\n    COUNT += 1\n    return COUNT\n"
    )
    create(lam, "warm", code)
    counts = {invoke(lam, "warm")[1] for _ in range(6)}
    assert max(counts) > 1  # at least one environment served twice


def test_provisioned_concurrency__prewarmed_environments_report_no_init_duration(lam):
    create(lam, "provisioned", Publish=True)
    lam.create_alias(FunctionName="provisioned", Name="live", FunctionVersion="1")
    put = lam.put_provisioned_concurrency_config(
        FunctionName="provisioned", Qualifier="live", ProvisionedConcurrentExecutions=2
    )
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 202
    got = wait_provisioned(lam, "provisioned", "live")
    assert (
        got["Status"],
        got["RequestedProvisionedConcurrentExecutions"],
        got["AvailableProvisionedConcurrentExecutions"],
    ) == ("READY", 2, 2)
    time.sleep(2.5)  # every app process picks the setting up within a second or two
    for _ in range(4):
        response, _ = invoke(lam, "provisioned", Qualifier="live", LogType="Tail")
        assert "Init Duration" not in base64.b64decode(response["LogResult"]).decode()
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.put_provisioned_concurrency_config(
            FunctionName="provisioned", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1
        )
    lam.delete_provisioned_concurrency_config(FunctionName="provisioned", Qualifier="live")
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="provisioned", Qualifier="live")


def test_invoke__client_context_reaches_the_handler(lam):
    create(
        lam,
        "contextual",
        handler_zip("def handler(event, context):\n    return context.client_context\n"),
    )
    context = {"custom": {"tenant": "blue"}, "env": {"locale": "en"}}
    encoded = base64.b64encode(json.dumps(context).encode()).decode()
    assert invoke(lam, "contextual", ClientContext=encoded)[1] == context
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        invoke(lam, "contextual", ClientContext="not base64 json!")
