"""Details of Invoke and ListFunctions as AWS answers them: an Event invocation's bare 202, the
error document of a failing Python handler (its own frames only, Lambda's keys always present),
and $LATEST named by its qualified ARN when every version is listed."""

from __future__ import annotations

import json

from tests.conformance.expect import assert_answer
from tests.support.functions import create, handler_zip

NESTED_FAILURE = handler_zip(
    """
    def inner():
        raise ValueError("boom")

    def handler(event, context):
        inner()
    """
)


def test_event_invocation__answers_202_with_the_status_alone(lam):
    create(lam, "event-bare")

    response = lam.invoke(FunctionName="event-bare", InvocationType="Event", Payload=b"{}")

    assert response["Payload"].read() == b""
    del response["Payload"]
    assert_answer(response, {"StatusCode": 202}, status=202)  # no ExecutedVersion
    headers = response["ResponseMetadata"]["HTTPHeaders"]
    assert headers["content-length"] == "0"
    assert headers["x-amzn-requestid"] == response["ResponseMetadata"]["RequestId"]
    # Neither a body type nor the version: which version runs is decided when the event runs.
    assert not {"content-type", "x-amz-executed-version", "x-amz-function-error"} & headers.keys()


def test_handler_error__stack_trace_holds_the_functions_frames_only(lam):
    create(lam, "trace-only-mine", NESTED_FAILURE)

    response = lam.invoke(FunctionName="trace-only-mine", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error == {
        "errorMessage": "boom",
        "errorType": "ValueError",
        "requestId": response["ResponseMetadata"]["RequestId"],
        "stackTrace": [
            '  File "/var/task/app.py", line 6, in handler\n    inner()\n',
            '  File "/var/task/app.py", line 3, in inner\n    raise ValueError("boom")\n',
        ],
    }


def test_import_error__is_lambdas_document_with_no_frames(lam):
    create(lam, "imports-missing", handler_zip("import missing_dependency\n"))

    response = lam.invoke(FunctionName="imports-missing", Payload=b"{}")

    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read()) == {
        "errorMessage": "Unable to import module 'app': No module named 'missing_dependency'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }


def test_syntax_error__names_the_line_as_lambda_does(lam):
    create(lam, "bad-syntax", handler_zip("def handler(:\n"))

    response = lam.invoke(FunctionName="bad-syntax", Payload=b"{}")

    error = json.loads(response["Payload"].read())
    assert (error["errorType"], error["requestId"]) == ("Runtime.UserCodeSyntaxError", "")
    assert error["errorMessage"].startswith("Syntax error in module 'app': ")
    assert error["stackTrace"] == ['  File "/var/task/app.py" Line 1\n    def handler(:\n']


def test_list_functions_all__names_latest_by_its_qualified_arn(lam, account):
    create(lam, "listed-all", Publish=True)
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:listed-all"

    every = lam.list_functions(FunctionVersion="ALL")["Functions"]
    latest_only = lam.list_functions()["Functions"]

    assert [(f["FunctionArn"], f["Version"]) for f in every] == [
        (f"{arn}:$LATEST", "$LATEST"),
        (f"{arn}:1", "1"),
    ]
    assert [(f["FunctionArn"], f["Version"]) for f in latest_only] == [(arn, "$LATEST")]
