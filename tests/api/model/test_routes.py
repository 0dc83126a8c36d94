"""Which operation of Lambda's model a request is: every operation of today's model, and of the
older model the AWS CLI v2 on Debian carries, is found again from the path its client sends."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore.model import ServiceModel
from werkzeug.datastructures import MultiDict

from registry.api.model.routes import Routes
from tests.support import require_service

MODEL = botocore.session.get_session().get_service_model("lambda")
ROUTES = Routes(MODEL)
DEBIAN_CLI_V2_MODEL = Path(
    "/usr/lib/python3/dist-packages/awscli/botocore/data/lambda/2015-03-31/service-2.json"
)


def _request(uri: str) -> tuple[str, MultiDict]:
    """The path and query a client sends for `uri`, each label filled in."""
    path, _, query = uri.partition("?")
    path = re.sub(r"\{[A-Za-z0-9_]+\+?\}", "label-value", path)
    return path, MultiDict([pair.split("=", 1) for pair in query.split("&") if pair])


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_every_operation_of_the_model_is_found_from_its_path(name):
    http = MODEL.operation_model(name).http
    path, query = _request(http["requestUri"])
    found = ROUTES.match(http["method"], path, query)
    assert found is not None and found.operation.name == name


def test_operations_of_the_debian_aws_cli_v2_model_are_found_from_their_older_paths():
    require_service(DEBIAN_CLI_V2_MODEL.exists(), "the AWS CLI v2 of Debian is not installed")
    older = ServiceModel(json.loads(DEBIAN_CLI_V2_MODEL.read_text()))
    slashed = []
    for name in older.operation_names:
        http = older.operation_model(name).http
        path, query = _request(http["requestUri"])
        found = ROUTES.match(http["method"], path, query)
        assert found is not None and found.operation.name == name, (name, http)
        if path.endswith("/"):
            slashed.append(name)
    assert {"ListFunctions", "GetAccountSettings"} <= set(slashed)


def test_path_labels_are_read_from_the_decoded_path():
    found = ROUTES.match(
        "GET", "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:f", {}
    )
    assert found.operation.name == "GetFunction"
    assert found.labels == {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:f"}


def test_a_query_the_uri_fixes_tells_apart_operations_on_one_path():
    assert ROUTES.match("GET", "/2018-10-31/layers", MultiDict()).operation.name == "ListLayers"
    by_arn = ROUTES.match("GET", "/2018-10-31/layers", MultiDict({"find": "LayerVersion"}))
    assert by_arn.operation.name == "GetLayerVersionByArn"


def test_an_unknown_path_is_no_operation():
    assert ROUTES.match("GET", "/2015-03-31/nothing", MultiDict()) is None
    assert ROUTES.match("PATCH", "/2015-03-31/functions", MultiDict()) is None
