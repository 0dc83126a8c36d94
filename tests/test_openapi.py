"""openapi.yaml describes every route, and real responses match its schemas."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from jsonschema import Draft4Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.support.zips import layer_zip

SPEC = yaml.safe_load((Path(__file__).resolve().parent.parent / "openapi.yaml").read_text())
_REGISTRY = Registry().with_resource(
    "urn:openapi", Resource.from_contents(SPEC, default_specification=DRAFT4)
)


def _pointer(*parts: str) -> str:
    return "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def check(template: str, method: str, status: int, body: bytes) -> None:
    responses = SPEC["paths"][template][method]["responses"]
    key = str(status) if str(status) in responses else "default"
    assert key in responses, f"{method.upper()} {template} may not answer {status}"
    response = responses[key]
    if "$ref" in response:
        response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    if "application/json" not in response.get("content", {}):
        assert body == b"", f"{method.upper()} {template} {status} should have no body"
        return
    ref = "urn:openapi#/" + _pointer(
        "paths", template, method, "responses", key, "content", "application/json", "schema"
    )
    if "$ref" in SPEC["paths"][template][method]["responses"][key]:
        name = SPEC["paths"][template][method]["responses"][key]["$ref"].rsplit("/", 1)[1]
        ref = "urn:openapi#/" + _pointer(
            "components", "responses", name, "content", "application/json", "schema"
        )
    Draft4Validator({"$ref": ref}, registry=_REGISTRY).validate(json.loads(body))


def call(
    server, method: str, path: str, body: bytes | None = None, credentials=None
) -> tuple[int, bytes]:
    url = server.url + path
    headers = {"Content-Type": "application/json"} if body else {}
    signed = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
    SigV4Auth(
        Credentials(*(credentials or server.dev_credentials)), "lambda", "us-east-1"
    ).add_auth(signed)
    request = urllib.request.Request(
        url, data=body, headers=dict(signed.headers.items()), method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_openapi__every_route_is_documented():
    from flask import Flask

    from registry.api import (
        absent_settings,
        concurrency,
        event_invoke_config,
        ext,
        functions,
        layers,
        permissions,
        tags,
    )

    app = Flask("routes")
    app.register_blueprint(layers.bp)
    app.register_blueprint(functions.bp)
    app.register_blueprint(concurrency.bp)
    app.register_blueprint(event_invoke_config.bp)
    app.register_blueprint(absent_settings.bp)
    app.register_blueprint(permissions.bp)
    app.register_blueprint(tags.bp)
    app.register_blueprint(ext.bp)
    documented = {
        (re.sub(r"\{[^}]+\}", "{}", path), method.upper())
        for path, operations in SPEC["paths"].items()
        for method in operations
        if method != "parameters"
    }
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = re.sub(r"<[^>]+>", "{}", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {rule.rule} is not in openapi.yaml"


def test_openapi__layer_responses_match_the_schemas(strata_server, account):
    creds = (account.access_key_id, account.secret_access_key)
    import base64

    publish = json.dumps(
        {
            "Content": {"ZipFile": base64.b64encode(layer_zip()).decode()},
            "CompatibleRuntimes": ["python3.12"],
            "LicenseInfo": "MIT",
        }
    ).encode()
    exchanges = [
        (
            "/2018-10-31/layers/{LayerName}/versions",
            "post",
            "/2018-10-31/layers/spec/versions",
            publish,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions",
            "post",
            "/2018-10-31/layers/spec/versions",
            b'{"Content": {}}',
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
            "get",
            "/2018-10-31/layers/spec/versions/1",
            None,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
            "get",
            "/2018-10-31/layers/spec/versions/9",
            None,
        ),
        ("/2018-10-31/layers", "get", "/2018-10-31/layers?MaxItems=1", None),
        (
            "/2018-10-31/layers",
            "get",
            f"/2018-10-31/layers?find=LayerVersion&Arn=arn%3Aaws%3Alambda%3Aus-east-1%3A{account.account_id}%3Alayer%3Aspec%3A1",
            None,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions",
            "get",
            "/2018-10-31/layers/spec/versions",
            None,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy",
            "post",
            "/2018-10-31/layers/spec/versions/1/policy",
            b'{"StatementId": "s1", "Action": "lambda:GetLayerVersion", "Principal": "*"}',
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy",
            "get",
            "/2018-10-31/layers/spec/versions/1/policy",
            None,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}/policy/{StatementId}",
            "delete",
            "/2018-10-31/layers/spec/versions/1/policy/s1",
            None,
        ),
        (
            "/2018-10-31/layers/{LayerName}/versions/{VersionNumber}",
            "delete",
            "/2018-10-31/layers/spec/versions/1",
            None,
        ),
    ]
    for template, method, path, body in exchanges:
        status, payload = call(strata_server, method.upper(), path, body, creds)
        check(template, method, status, payload)


@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_openapi__health_responses_match_the_schemas(strata_server, path):
    with urllib.request.urlopen(strata_server.url + path, timeout=5) as response:
        check(path, "get", response.status, response.read())
