"""The README's function walkthrough, run with the real AWS CLI against a real server: publish a
layer in one account, grant it to another, create a function there that uses it, invoke it. Both
CLI generations run it: v1 from PyPI and the v2 that Debian ships, whose older botocore sends some
operations on paths of its own."""

from __future__ import annotations

import base64
import json
from functools import partial

import pytest

from tests.support.aws_cli import V1, V2, run
from tests.support.functions import ROLE, handler_zip
from tests.support.zips import layer_zip


@pytest.mark.parametrize("cli", [V1, V2], ids=lambda cli: cli.name)
def test_aws_cli__walkthrough_layer_grant_function_invoke(cli, strata_server, tmp_path):
    cli.require()
    aws = partial(run, cli)
    platform, team = strata_server.new_account(), strata_server.new_account()
    (tmp_path / "greetings.zip").write_bytes(
        layer_zip("greetings", "def greet(name):\n    return 'hello ' + name\n")
    )
    (tmp_path / "function.zip").write_bytes(
        handler_zip(
            "import greetings\n\n"
            "def handler(event, context):\n    return greetings.greet(event['name'])\n"
        )
    )
    layer = aws(
        strata_server,
        platform,
        "publish-layer-version",
        "--layer-name",
        "greetings",
        "--zip-file",
        f"fileb://{tmp_path / 'greetings.zip'}",
        "--compatible-runtimes",
        "python3.11",
    )
    aws(
        strata_server,
        platform,
        "add-layer-version-permission",
        "--layer-name",
        "greetings",
        "--version-number",
        "1",
        "--statement-id",
        "team",
        "--action",
        "lambda:GetLayerVersion",
        "--principal",
        team.account_id,
    )
    created = aws(
        strata_server,
        team,
        "create-function",
        "--function-name",
        "hello",
        "--runtime",
        "python3.11",
        "--handler",
        "app.handler",
        "--role",
        ROLE,
        "--zip-file",
        f"fileb://{tmp_path / 'function.zip'}",
        "--layers",
        layer["LayerVersionArn"],
    )
    assert created["Layers"][0]["Arn"] == layer["LayerVersionArn"]
    aws(strata_server, team, "wait", "function-active-v2", "--function-name", "hello")

    out = tmp_path / "out.json"
    result = aws(
        strata_server,
        team,
        "invoke",
        "--function-name",
        "hello",
        "--payload",
        '{"name": "strata"}',
        "--log-type",
        "Tail",
        str(out),
    )
    assert result["StatusCode"] == 200 and "FunctionError" not in result
    assert json.loads(out.read_text()) == "hello strata"
    assert "REPORT RequestId:" in base64.b64decode(result["LogResult"]).decode()
    listed = aws(strata_server, team, "list-functions")
    assert [f["FunctionName"] for f in listed["Functions"]] == ["hello"]
    settings = aws(strata_server, team, "get-account-settings")
    assert settings["AccountUsage"]["FunctionCount"] == 1
