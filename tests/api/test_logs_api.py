"""Function logs through the CloudWatch Logs API of a real server: boto3's `logs` client, the AWS
CLI v1's `aws logs filter-log-events` and the CLI v2's `aws logs tail`, on both backends."""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support.aws_cli import V1, V2, AwsCli
from tests.support.functions import create, handler_zip, invoke

CHATTY = handler_zip(
    """
    def handler(event, context):
        for line in event.get("lines", []):
            print(line)
        return {"ok": True}
    """
)
STREAM = re.compile(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}")


@pytest.fixture
def logs(strata_server, account):
    return strata_server.client(account, service="logs")


def function(lam) -> str:
    name = f"logs-{uuid.uuid4().hex[:10]}"
    create(lam, name, code=CHATTY)
    return name


def wait_for_events(logs, group: str, needed: int, timeout: float = 5.0, **params) -> list[dict]:
    deadline = time.monotonic() + timeout
    found: list[dict] = []
    while time.monotonic() < deadline:
        try:
            found = logs.filter_log_events(logGroupName=group, **params)["events"]
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
        if len(found) >= needed:
            return found
        time.sleep(0.02)
    return found


def test_invocation__lines_appear_under_its_group_and_stream_within_a_second(lam, logs):
    name = function(lam)
    invoke(lam, name, {"lines": ["hello from the handler", "second line"]})
    invoked = time.monotonic()

    events = wait_for_events(logs, f"/aws/lambda/{name}", 5, timeout=1.0)

    assert time.monotonic() - invoked < 1.0
    messages = [e["message"] for e in events]
    assert messages[0].startswith("START RequestId: ") and "Version: $LATEST" in messages[0]
    assert messages[1:3] == ["hello from the handler", "second line"]
    assert messages[3].startswith("END RequestId: ")
    assert messages[4].startswith("REPORT RequestId: ") and "Duration: " in messages[4]
    assert {e["logStreamName"] for e in events} == {events[0]["logStreamName"]}
    assert STREAM.fullmatch(events[0]["logStreamName"])
    stamps = [e["timestamp"] for e in events]
    assert stamps == sorted(stamps) and abs(stamps[0] / 1000 - time.time()) < 60


def test_describe__the_group_and_the_environments_stream(strata_server, lam, logs, account):
    name = function(lam)
    invoke(lam, name, {"lines": ["x"]})
    invoke(lam, name, {"lines": ["y"]})  # the same warm environment: the same stream
    wait_for_events(logs, f"/aws/lambda/{name}", 10)

    [group] = logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    [stream] = logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]

    assert group["arn"] == (
        f"arn:aws:logs:us-east-1:{account.account_id}:log-group:/aws/lambda/{name}:*"
    )
    assert group["storedBytes"] == stream["storedBytes"] > 0
    assert "retentionInDays" not in group
    assert STREAM.fullmatch(stream["logStreamName"])
    assert stream["firstEventTimestamp"] <= stream["lastEventTimestamp"]


def test_get_log_events__reads_the_stream_from_its_head(lam, logs):
    name = function(lam)
    invoke(lam, name, {"lines": ["only line"]})
    [first, *_] = wait_for_events(logs, f"/aws/lambda/{name}", 4)

    page = logs.get_log_events(
        logGroupName=f"/aws/lambda/{name}",
        logStreamName=first["logStreamName"],
        startFromHead=True,
        limit=2,
    )
    rest = logs.get_log_events(
        logGroupName=f"/aws/lambda/{name}",
        logStreamName=first["logStreamName"],
        nextToken=page["nextForwardToken"],
    )
    messages = [e["message"] for e in page["events"] + rest["events"]]
    assert messages[1] == "only line" and messages[2].startswith("END RequestId")
    assert len(messages) == 4


def test_filter_patterns__select_the_right_events(lam, logs):
    name = function(lam)
    lines = ["ERROR disk full", "INFO all good", "ERROR retrying soon", "WARN slow disk"]
    invoke(lam, name, {"lines": lines})
    group = f"/aws/lambda/{name}"
    wait_for_events(logs, group, 7)

    def matching(pattern: str) -> list[str]:
        events = logs.filter_log_events(logGroupName=group, filterPattern=pattern)["events"]
        return [e["message"] for e in events]

    assert matching("ERROR") == ["ERROR disk full", "ERROR retrying soon"]
    assert matching("disk ERROR") == ["ERROR disk full"]
    assert matching('"all good"') == ["INFO all good"]
    assert matching("?WARN ?INFO") == ["INFO all good", "WARN slow disk"]
    assert matching("ERROR -retrying") == ["ERROR disk full"]


def test_event_invocations__are_logged_too(lam, logs):
    name = function(lam)
    lam.invoke(
        FunctionName=name, InvocationType="Event", Payload=json.dumps({"lines": ["async hello"]})
    )
    events = wait_for_events(logs, f"/aws/lambda/{name}", 1, filterPattern='"async hello"')
    assert [e["message"] for e in events] == ["async hello"]


def test_throttled_invocations__log_nothing(lam, logs):
    name = function(lam)
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError, match="TooManyRequests"):
        invoke(lam, name, {"lines": ["never"]})
    time.sleep(0.5)
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")


def test_another_account__cannot_read_the_logs(strata_server, lam, logs, account):
    name = function(lam)
    invoke(lam, name, {"lines": ["secret"]})
    group = f"/aws/lambda/{name}"
    wait_for_events(logs, group, 4)
    other = strata_server.client(strata_server.new_account(), service="logs")

    assert other.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    for call in (
        lambda: other.filter_log_events(logGroupName=group),
        lambda: other.describe_log_streams(logGroupName=group),
        lambda: other.filter_log_events(
            logGroupIdentifier=f"arn:aws:logs:us-east-1:{account.account_id}:log-group:{group}"
        ),
        lambda: other.delete_log_group(logGroupName=group),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert refused.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == 4


def test_deleting_the_function__leaves_its_logs(lam, logs):
    name = function(lam)
    invoke(lam, name, {"lines": ["kept"]})
    wait_for_events(logs, f"/aws/lambda/{name}", 4)
    lam.delete_function(FunctionName=name)
    assert len(logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]) == 4


def test_groups__create_retention_and_delete_with_cloudwatchs_errors(logs):
    group = f"/app/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=group)

    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    [described] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["retentionInDays"] == 7
    with pytest.raises(logs.exceptions.InvalidParameterException) as refused:
        logs.put_retention_policy(logGroupName=group, retentionInDays=2)
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert refused.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == (
        "InvalidParameterException"
    )
    logs.delete_retention_policy(logGroupName=group)
    [described] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert "retentionInDays" not in described

    logs.delete_log_group(logGroupName=group)
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing:
        logs.delete_log_group(logGroupName=group)
    assert missing.value.response["Error"]["Message"] == "The specified log group does not exist."


def test_limits__out_of_range_is_an_invalid_parameter(logs):
    with pytest.raises(logs.exceptions.InvalidParameterException, match="limit"):
        logs.describe_log_groups(limit=51)


def test_paginators__walk_every_page(lam, logs):
    name = function(lam)
    invoke(lam, name, {"lines": [f"line {i}" for i in range(30)]})
    group = f"/aws/lambda/{name}"
    wait_for_events(logs, group, 33)
    pages = logs.get_paginator("filter_log_events").paginate(
        logGroupName=group, filterPattern="line", PaginationConfig={"PageSize": 7}
    )
    assert [e["message"] for page in pages for e in page["events"]] == [
        f"line {i}" for i in range(30)
    ]


def test_a_request_signed_for_lambda__does_not_reach_logs(strata_server, account):
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(
        method="POST",
        url=strata_server.url + "/",
        data=b"{}",
        headers={
            "X-Amz-Target": "Logs_20140328.DescribeLogGroups",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    credentials = Credentials(account.access_key_id, account.secret_access_key)
    SigV4Auth(credentials, "lambda", "us-east-1").add_auth(request)
    prepared = request.prepare()
    answer = urllib.request.Request(
        prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(answer, timeout=10)
    assert refused.value.code == 403
    assert refused.value.headers["x-amzn-ErrorType"] == "InvalidSignatureException"


# --- the AWS CLIs ---------------------------------------------------------------------------


def cli_env(cli: AwsCli, credentials) -> dict:
    return {
        **cli.environment(),
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_PAGER": "",
    }


def aws_logs(cli: AwsCli, server, credentials, *args: str) -> subprocess.CompletedProcess:
    cli.require()
    return subprocess.run(
        [cli.executable, "--endpoint-url", server.url, "--output", "json", "logs", *args],
        env=cli_env(cli, credentials),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("cli", [V1, V2], ids=["v1", "v2"])
def test_aws_cli__filter_log_events_with_a_pattern(strata_server, lam, logs, account, cli):
    name = function(lam)
    invoke(lam, name, {"lines": ["ERROR boom", "fine"]})
    wait_for_events(logs, f"/aws/lambda/{name}", 6)

    result = aws_logs(
        cli,
        strata_server,
        account,
        "filter-log-events",
        "--log-group-name",
        f"/aws/lambda/{name}",
        "--filter-pattern",
        "ERROR",
    )

    assert result.returncode == 0, result.stderr
    events = json.loads(result.stdout)["events"]
    assert [e["message"] for e in events] == ["ERROR boom"]


def test_aws_cli_v2__tail_prints_the_invocations_lines(strata_server, lam, logs, account):
    name = function(lam)
    invoke(lam, name, {"lines": ["tailed line"]})
    wait_for_events(logs, f"/aws/lambda/{name}", 4)

    result = aws_logs(V2, strata_server, account, "tail", f"/aws/lambda/{name}", "--since", "5m")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 4
    assert lines[1].split(" ", 2)[1:] == [lines[1].split(" ")[1], "tailed line"]
    assert STREAM.fullmatch(lines[1].split(" ")[1])
    assert lines[0].split(" ", 2)[2].startswith("START RequestId")


def test_aws_cli_v2__tail_follow_prints_lines_of_later_invocations(strata_server, lam, account):
    V2.require()
    name = function(lam)
    invoke(lam, name, {"lines": ["before following"]})
    tail = subprocess.Popen(
        [
            V2.executable,
            "--endpoint-url",
            strata_server.url,
            "logs",
            "tail",
            f"/aws/lambda/{name}",
            "--follow",
            "--since",
            "5m",
            "--format",
            "short",
        ],
        # Its output is a pipe here, which Python would buffer past the test's patience.
        env={**cli_env(V2, account), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        seen = _read_until(tail, "before following", timeout=15)
        invoke(lam, name, {"lines": ["while following"]})
        # The CLI polls every 5 s.
        seen += _read_until(tail, "while following", timeout=15)
    finally:
        tail.kill()
        tail.wait()
    messages = [line.split(" ", 1)[1] for line in seen]
    assert messages.count("before following") == 1
    assert messages.count("while following") == 1


def _read_until(process: subprocess.Popen, text: str, timeout: float) -> list[str]:
    """Lines the process prints until one ends with `text` (read on a thread: a selector on a
    buffered pipe would miss lines already read into the buffer)."""
    if not hasattr(process, "lines"):
        process.lines = queue.Queue()
        threading.Thread(
            target=lambda: [process.lines.put(line.rstrip("\n")) for line in process.stdout],
            daemon=True,
        ).start()
    lines = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = process.lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except queue.Empty:
            break
        lines.append(line)
        if line.endswith(text):
            return lines
    raise AssertionError(f"{text!r} not printed in {timeout} s; printed: {lines}")


# --- settings: retention swept, storage off ---------------------------------------------------


@pytest.fixture(scope="module")
def sweeping_server(tmp_path_factory, request):
    """A server of its own whose retention sweep runs every 0.3 s."""
    yield from _own_server(tmp_path_factory, request, STRATA_FUNCTION_LOGS_SWEEP_INTERVAL="0.3")


@pytest.fixture(scope="module")
def server_storing_no_logs(tmp_path_factory, request):
    yield from _own_server(tmp_path_factory, request, STRATA_FUNCTION_LOGS="off")


def _own_server(tmp_path_factory, request, **settings):
    from tests.support.server import StrataServer, backend_env

    data_dir = tmp_path_factory.mktemp("strata-logs")
    server = StrataServer(data_dir=data_dir, env=backend_env("sqlite-fs", data_dir, request))
    server.env.update(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_retention__the_sweep_removes_events_older_than_the_groups_policy(sweeping_server):
    from registry.logs.events import Event
    from registry.logs.store import Batch, LogStore

    account = sweeping_server.new_account()
    lam = sweeping_server.client(account)
    logs = sweeping_server.client(account, service="logs")
    name = function(lam)
    invoke(lam, name, {"lines": ["fresh"]})
    group = f"/aws/lambda/{name}"
    [start, *_] = wait_for_events(logs, group, 4)
    # What an invocation of the same environment left two weeks ago: within the default
    # retention (30 days), which the sweep applies meanwhile, and past the policy put below.
    weeks_ago = int((time.time() - 14 * 86400) * 1000)
    LogStore(sweeping_server.db).append(
        [Batch(account.account_id, group, start["logStreamName"], [Event(weeks_ago, "stale")])]
    )
    assert len(logs.filter_log_events(logGroupName=group)["events"]) == 5

    logs.put_retention_policy(logGroupName=group, retentionInDays=7)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        messages = [e["message"] for e in logs.filter_log_events(logGroupName=group)["events"]]
        if "stale" not in messages:
            break
        time.sleep(0.1)

    assert "stale" not in messages and "fresh" in messages and len(messages) == 4
    [stream] = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert stream["storedBytes"] == sum(len(m.encode()) + 26 for m in messages)


def test_storage_off__invocations_leave_no_logs_and_the_api_still_answers(
    server_storing_no_logs,
):
    account = server_storing_no_logs.new_account()
    lam = server_storing_no_logs.client(account)
    logs = server_storing_no_logs.client(account, service="logs")
    name = function(lam)
    invoke(lam, name, {"lines": ["unrecorded"]})
    time.sleep(0.5)  # more than the writer's flush interval, were it running

    assert logs.describe_log_groups()["logGroups"] == []
    logs.create_log_group(logGroupName="/made/by/hand")
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/made/by/hand"]


# --- invocations of every kind ----------------------------------------------------------------


def test_event_retries__each_attempt_is_logged(lam, logs):
    name = f"logs-{uuid.uuid4().hex[:10]}"
    create(
        lam,
        name,
        code=handler_zip(
            """
            def handler(event, context):
                print("attempt for", context.aws_request_id)
                raise RuntimeError("always fails")
            """
        ),
    )
    lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    # Lambda retries a failing Event invocation twice; this server waits 1 s, then 2 s.
    events = wait_for_events(
        logs, f"/aws/lambda/{name}", 3, timeout=15, filterPattern='"attempt for"'
    )
    assert len(events) == 3
    assert len({e["message"] for e in events}) == 1  # the same request id each time


def test_provisioned_environments__their_init_output_is_in_the_first_invocations_log(lam, logs):
    name = f"logs-{uuid.uuid4().hex[:10]}"
    create(
        lam,
        name,
        code=handler_zip(
            """
            print("initialising the module")

            def handler(event, context):
                print("handling")
                return {}
            """
        ),
        Publish=True,
    )
    lam.put_provisioned_concurrency_config(
        FunctionName=name, Qualifier="1", ProvisionedConcurrentExecutions=1
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier="1")
        if config["Status"] == "READY":
            break
        time.sleep(0.1)
    invoke(lam, name, {}, Qualifier="1")

    events = wait_for_events(logs, f"/aws/lambda/{name}", 5)
    messages = [e["message"] for e in events]
    assert "initialising the module" in messages and "handling" in messages
    assert messages.index("initialising the module") < messages.index("handling")
    assert all("/[1]" in e["logStreamName"] for e in events)
