"""CloudWatch's AWS/Lambda metrics through a real server: boto3 (which speaks CloudWatch's JSON
protocol), the Smithy RPC v2 CBOR and query protocols botocore also knows, and the AWS CLI v1 and
v2 as users run them. The figures are the invocations made; an account sees only its own."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial

import boto3
import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from registry.accounts import Credentials
from tests.support.aws_cli import V1, V2, run
from tests.support.functions import create, handler_zip, invoke
from tests.support.server import REGION

FAILS_ON_DEMAND = handler_zip(
    """
    def handler(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        return "ok"
    """
)
PROTOCOLS = ["json", "smithy-rpc-v2-cbor", "query"]


def cloudwatch(server, credentials, protocol: str = "json", tmp_path=None):
    """A boto3 CloudWatch client that speaks `protocol` (botocore's model lists all three; boto3
    picks JSON, other SDKs CBOR, older botocore and the AWS CLI v2 Debian ships the query
    protocol)."""
    if protocol == "json":
        return server.client(credentials, service="cloudwatch")
    session = botocore.session.get_session()
    loader = session.get_component("data_loader")
    model = copy.deepcopy(loader.load_service_model("cloudwatch", "service-2"))
    model["metadata"].update(protocol=protocol, protocols=[protocol])
    models = tmp_path / f"models-{protocol}"
    (models / "cloudwatch" / model["metadata"]["apiVersion"]).mkdir(parents=True, exist_ok=True)
    (models / "cloudwatch" / model["metadata"]["apiVersion"] / "service-2.json").write_text(
        json.dumps(model)
    )
    loader.search_paths.insert(0, str(models))
    return boto3.session.Session(botocore_session=session).client(
        "cloudwatch",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(retries={"max_attempts": 1}),
    )


def window() -> dict:
    now = datetime.now(timezone.utc)
    return {"StartTime": now - timedelta(hours=1), "EndTime": now + timedelta(minutes=5)}


def statistics(cw, metric: str, function: str, *stats: str, period: int = 3600) -> list[dict]:
    return cw.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        Period=period,
        Statistics=list(stats or ["Sum"]),
        **window(),
    )["Datapoints"]


def total(cw, metric: str, function: str) -> float:
    return sum(point["Sum"] for point in statistics(cw, metric, function))


def until(expected, read, timeout: float = 15.0):
    """Counts reach the database within about a second of the invocation (each server process
    flushes its own)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == expected or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


@dataclass(frozen=True)
class Metered:
    name: str
    throttles: int  # botocore retries a throttled request: each attempt is a throttle


@pytest.fixture
def metered(strata_server, account, lam) -> Metered:
    """A function invoked 5 times (2 failing), then throttled."""
    name = "metered"
    create(lam, name, FAILS_ON_DEMAND)
    for fail in (False, True, False, True, False):
        invoke(lam, name, {"fail": fail})
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    attempts = []
    lam.meta.events.register("before-send.lambda.Invoke", lambda **_: attempts.append(1))
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        invoke(lam, name)
    cw = cloudwatch(strata_server, account)
    assert until(len(attempts), lambda: total(cw, "Throttles", name)) == len(attempts) > 0
    return Metered(name, len(attempts))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_get_metric_statistics__figures_are_the_invocations_made(
    strata_server, account, metered, protocol, tmp_path
):
    invoked = metered.name
    cw = cloudwatch(strata_server, account, protocol, tmp_path)
    assert until(5, lambda: total(cw, "Invocations", invoked)) == 5
    # Hours are the clock's: invocations made across one's end are two datapoints.
    errors = statistics(cw, "Errors", invoked, "Sum", "SampleCount", "Average")
    assert (sum(p["Sum"] for p in errors), sum(p["SampleCount"] for p in errors)) == (2, 5)
    assert {p["Unit"] for p in errors} == {"Count"} and len(errors) in (1, 2)
    for point in errors:
        assert point["Average"] == pytest.approx(point["Sum"] / point["SampleCount"])
        assert isinstance(point["Timestamp"], datetime)
    duration = statistics(cw, "Duration", invoked, "SampleCount", "Minimum", "Maximum")
    assert sum(p["SampleCount"] for p in duration) == 5
    assert {p["Unit"] for p in duration} == {"Milliseconds"}
    assert all(0 < p["Minimum"] <= p["Maximum"] < 5000 for p in duration)
    concurrent = statistics(cw, "ConcurrentExecutions", invoked, "Maximum")
    assert max(p["Maximum"] for p in concurrent) == 1  # one invocation at a time
    assert total(cw, "Throttles", invoked) == metered.throttles


def test_get_metric_statistics__minutes_add_up_to_the_hour(strata_server, account, metered):
    invoked = metered.name
    cw = cloudwatch(strata_server, account)
    assert until(5, lambda: total(cw, "Invocations", invoked)) == 5
    minutes = statistics(cw, "Invocations", invoked, "Sum", period=60)
    assert sum(point["Sum"] for point in minutes) == 5
    assert all(point["Timestamp"].second == 0 for point in minutes)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_get_metric_statistics__another_account_sees_nothing_of_yours(
    strata_server, account, metered, protocol, tmp_path
):
    invoked = metered.name
    mine = cloudwatch(strata_server, account)
    assert until(5, lambda: total(mine, "Invocations", invoked)) == 5
    theirs = cloudwatch(strata_server, strata_server.new_account(), protocol, tmp_path)
    assert statistics(theirs, "Invocations", invoked) == []
    assert theirs.list_metrics(Namespace="AWS/Lambda")["Metrics"] == []


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_get_metric_statistics__refusals_are_cloudwatchs_modeled_errors(
    strata_server, account, protocol, tmp_path
):
    cw = cloudwatch(strata_server, account, protocol, tmp_path)
    ask = partial(cw.get_metric_statistics, Namespace="AWS/Lambda", MetricName="Invocations")
    with pytest.raises(cw.exceptions.InvalidParameterValueException, match="multiple of 60"):
        ask(Period=30, Statistics=["Sum"], **window())
    too_many = {"StartTime": datetime(2026, 1, 1, tzinfo=timezone.utc)}
    too_many["EndTime"] = too_many["StartTime"] + timedelta(days=2)
    with pytest.raises(cw.exceptions.InvalidParameterCombinationException, match="1,440"):
        ask(Period=60, Statistics=["Sum"], **too_many)
    with pytest.raises(cw.exceptions.MissingRequiredParameterException):
        ask(Period=60, **window())


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_authentication__refusals_are_answered_in_the_clients_protocol(
    strata_server, account, protocol, tmp_path
):
    wrong_secret = Credentials(account.account_id, account.access_key_id, "not-the-secret")
    unknown_key = Credentials(account.account_id, "AKIANOBODYKNOWS00000", "secret")
    for credentials, code in (
        (wrong_secret, "SignatureDoesNotMatch"),
        (unknown_key, "InvalidClientTokenId"),
    ):
        cw = cloudwatch(strata_server, credentials, protocol, tmp_path / code)
        with pytest.raises(ClientError) as refused:
            cw.list_metrics(Namespace="AWS/Lambda")
        assert refused.value.response["Error"]["Code"] == code
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_get_metric_data__values_newest_first(strata_server, account, metered, protocol, tmp_path):
    invoked = metered.name
    cw = cloudwatch(strata_server, account, protocol, tmp_path)
    assert until(5, lambda: total(cloudwatch(strata_server, account), "Invocations", invoked)) == 5

    def stat(metric: str, stat: str) -> dict:
        return {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [{"Name": "FunctionName", "Value": invoked}],
            },
            "Period": 60,
            "Stat": stat,
        }

    answer = cw.get_metric_data(
        MetricDataQueries=[
            {"Id": "calls", "MetricStat": stat("Invocations", "Sum")},
            {"Id": "slowest", "MetricStat": stat("Duration", "Maximum"), "Label": "slowest"},
        ],
        **window(),
    )
    calls, slowest = answer["MetricDataResults"]
    assert (calls["Id"], calls["StatusCode"], sum(calls["Values"])) == ("calls", "Complete", 5)
    assert calls["Timestamps"] == sorted(calls["Timestamps"], reverse=True)
    assert slowest["Label"] == "slowest" and len(slowest["Values"]) == len(calls["Values"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_list_metrics__the_functions_that_ran(strata_server, account, metered, protocol, tmp_path):
    invoked = metered.name
    cw = cloudwatch(strata_server, account, protocol, tmp_path)
    metrics = cw.list_metrics(
        Namespace="AWS/Lambda", Dimensions=[{"Name": "FunctionName", "Value": invoked}]
    )["Metrics"]
    assert {m["MetricName"] for m in metrics} == {
        "Invocations",
        "Errors",
        "Throttles",
        "Duration",
        "ConcurrentExecutions",
    }
    assert all(m["Dimensions"] == [{"Name": "FunctionName", "Value": invoked}] for m in metrics)


@pytest.mark.parametrize("cli", [V1, V2], ids=lambda cli: cli.name)
def test_aws_cli__get_metric_statistics(cli, strata_server, account, metered):
    invoked = metered.name
    cli.require()
    assert until(5, lambda: total(cloudwatch(strata_server, account), "Invocations", invoked)) == 5
    now = datetime.now(timezone.utc)
    answer = run(
        cli,
        strata_server,
        account,
        "get-metric-statistics",
        "--namespace",
        "AWS/Lambda",
        "--metric-name",
        "Invocations",
        "--dimensions",
        f"Name=FunctionName,Value={invoked}",
        "--start-time",
        (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--end-time",
        (now + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "--period",
        "60",
        "--statistics",
        "Sum",
        "SampleCount",
        service="cloudwatch",
    )
    assert answer["Label"] == "Invocations"
    assert sum(point["Sum"] for point in answer["Datapoints"]) == 5
    assert sum(point["SampleCount"] for point in answer["Datapoints"]) == 5
    others = run(
        cli,
        strata_server,
        strata_server.new_account(),
        "list-metrics",
        "--namespace",
        "AWS/Lambda",
        service="cloudwatch",
    )
    assert others["Metrics"] == []
