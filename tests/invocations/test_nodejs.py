"""Node.js functions through boto3 against a real server, for every Node.js major present: their
layers on NODE_PATH as Lambda orders them, error documents and Lambda's console lines in the log
tail."""

from __future__ import annotations

import base64
import json
import re
import textwrap

import pytest

from tests.support.functions import create, invoke
from tests.support.nodejs import PRESENT, node_runtime_params, require_node
from tests.support.zips import make_zip

HANDLER = """
    import { createRequire } from 'node:module';
    import shared from 'shared';
    const require = createRequire(import.meta.url);

    export const handler = async (event, context) => {
      console.log('serving', event.n);
      if (event.fail) throw new RangeError('out of range');
      return {
        esm: shared.copy,
        cjs: require('shared').copy,
        onlyFirst: require('only-first').copy,
        version: process.version,
        arn: context.invokedFunctionArn,
      };
    };
"""


def package(root: str, name: str, copy: str) -> dict[str, str]:
    return {
        f"{root}/{name}/package.json": json.dumps({"name": name, "main": "index.js"}),
        f"{root}/{name}/index.js": f"module.exports = {{ copy: {copy!r} }};\n",
    }


def publish(lam, name: str, files: dict[str, str], runtime: str) -> str:
    return lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": make_zip(files)}, CompatibleRuntimes=[runtime]
    )["LayerVersionArn"]


@pytest.fixture(params=node_runtime_params())
def runtime(request):
    return require_node(request.param)


def node_function(lam, name: str, runtime: str, layers: list[str]) -> None:
    code = make_zip({"index.mjs": textwrap.dedent(HANDLER)})
    create(lam, name, code, Runtime=runtime, Handler="index.handler", Layers=layers)


def test_nodejs__the_later_layer_overrides_a_package_of_the_earlier_one(lam, runtime):
    first = publish(
        lam,
        "node-base",
        {
            **package("nodejs/node_modules", "shared", "first"),
            **package("nodejs/node_modules", "only-first", "first"),
        },
        runtime,
    )
    second = publish(lam, "node-patch", package("nodejs/node_modules", "shared", "second"), runtime)
    node_function(lam, "layered", runtime, [first, second])

    response, body = invoke(lam, "layered", {"n": 1}, LogType="Tail")

    assert "FunctionError" not in response, body
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    assert body["version"].startswith(f"v{major}.")
    assert (body["esm"], body["cjs"], body["onlyFirst"]) == ("second", "second", "first")
    assert body["arn"].endswith(":function:layered")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert re.search(r"^\d{4}-\d\d-\d\dT[\d:.]{12}Z\t[0-9a-f-]{36}\tINFO\tserving 1$", tail, re.M)
    assert "REPORT RequestId: " in tail


def test_nodejs__the_majors_own_layer_directory_wins_whatever_the_layer_order(lam, runtime):
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    specific = publish(
        lam,
        "node-specific",
        {
            **package(f"nodejs/node{major}/node_modules", "shared", f"node{major}"),
            **package("nodejs/node_modules", "only-first", "specific's generic"),
        },
        runtime,
    )
    generic = publish(
        lam, "node-generic", package("nodejs/node_modules", "shared", "generic"), runtime
    )
    node_function(lam, "by-major", runtime, [specific, generic])

    _, body = invoke(lam, "by-major", {"n": 2})

    assert (body["esm"], body["cjs"]) == (f"node{major}", f"node{major}")


def test_nodejs__a_thrown_error_is_unhandled_with_its_type(lam, runtime):
    base = publish(
        lam,
        "node-errors-base",
        {
            **package("nodejs/node_modules", "shared", "x"),
            **package("nodejs/node_modules", "only-first", "x"),
        },
        runtime,
    )
    node_function(lam, "throws", runtime, [base])

    response, body = invoke(lam, "throws", {"fail": True})

    assert response["FunctionError"] == "Unhandled"
    assert (body["errorType"], body["errorMessage"]) == ("RangeError", "out of range")
    assert body["trace"][0] == "RangeError: out of range"


def test_nodejs__nodejs24_runs_only_under_a_node_24_else_is_refused_naming_it(lam):
    create(
        lam,
        "node24",
        make_zip({"index.mjs": "export const handler = async () => process.version;\n"}),
        Runtime="nodejs24.x",
        Handler="index.handler",
    )
    if 24 in PRESENT:
        assert invoke(lam, "node24")[1].startswith("v24.")
        return
    with pytest.raises(lam.exceptions.InvalidParameterValueException) as refused:
        invoke(lam, "node24")
    assert "no Node.js 24 interpreter" in refused.value.response["Error"]["Message"]
