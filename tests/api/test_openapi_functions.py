"""Function responses match the schemas of openapi.yaml."""

from __future__ import annotations

import base64
import json

from tests.support.functions import ECHO, ROLE, RUNTIME
from tests.test_openapi import call, check


def test_openapi__function_responses_match_the_schemas(strata_server, account):
    creds = (account.access_key_id, account.secret_access_key)
    create = json.dumps(
        {
            "FunctionName": "spec",
            "Runtime": RUNTIME,
            "Role": ROLE,
            "Handler": "app.handler",
            "Code": {"ZipFile": base64.b64encode(ECHO).decode()},
            "Environment": {"Variables": {"KEY": "v"}},
            "Tags": {"t": "v"},
        }
    ).encode()
    functions = "/2015-03-31/functions"
    arn = f"arn:aws:lambda:us-east-1:{account.account_id}:function:spec"
    tags = "/2017-03-31/tags/" + arn.replace(":", "%3A")
    exchanges = [
        (functions, "post", functions, create),
        (functions, "post", functions, create),  # 409
        (functions, "get", functions + "?FunctionVersion=ALL", None),
        (functions + "/{FunctionName}", "get", functions + "/spec", None),
        (functions + "/{FunctionName}", "get", functions + "/missing", None),
        (
            functions + "/{FunctionName}/configuration",
            "put",
            functions + "/spec/configuration",
            b'{"MemorySize": 256}',
        ),
        (
            functions + "/{FunctionName}/configuration",
            "put",
            functions + "/spec/configuration",
            b'{"MemorySize": 99999}',
        ),
        (functions + "/{FunctionName}/versions", "post", functions + "/spec/versions", b"{}"),
        (functions + "/{FunctionName}/versions", "get", functions + "/spec/versions", None),
        (
            functions + "/{FunctionName}/configuration",
            "get",
            functions + "/spec%3A1/configuration",
            None,
        ),
        (
            functions + "/{FunctionName}/aliases",
            "post",
            functions + "/spec/aliases",
            b'{"Name": "live", "FunctionVersion": "1"}',
        ),
        (functions + "/{FunctionName}/aliases", "get", functions + "/spec/aliases", None),
        (
            functions + "/{FunctionName}/aliases/{Name}",
            "get",
            functions + "/spec/aliases/live",
            None,
        ),
        (
            "/2019-09-30/functions/{FunctionName}/provisioned-concurrency",
            "get",
            "/2019-09-30/functions/spec/provisioned-concurrency?Qualifier=live",
            None,
        ),
        (
            functions + "/{FunctionName}/aliases/{Name}",
            "delete",
            functions + "/spec/aliases/live",
            None,
        ),
        (
            functions + "/{FunctionName}/policy",
            "post",
            functions + "/spec/policy",
            b'{"StatementId": "s", "Action": "lambda:InvokeFunction", "Principal": "*"}',
        ),
        (functions + "/{FunctionName}/policy", "get", functions + "/spec/policy", None),
        (
            functions + "/{FunctionName}/policy/{StatementId}",
            "delete",
            functions + "/spec/policy/s",
            None,
        ),
        (functions + "/{FunctionName}/policy", "get", functions + "/spec/policy", None),  # 404
        ("/2017-03-31/tags/{Resource}", "post", tags, b'{"Tags": {"more": "v"}}'),
        ("/2017-03-31/tags/{Resource}", "get", tags, None),
        ("/2017-03-31/tags/{Resource}", "delete", tags + "?tagKeys=more", None),
        ("/2017-03-31/tags/{Resource}", "get", tags + "%3A1", None),  # 400
        (functions + "/{FunctionName}", "delete", functions + "/spec?Qualifier=1", None),
        (functions + "/{FunctionName}", "delete", functions + "/spec", None),
    ]
    for template, method, path, body in exchanges:
        status, payload = call(strata_server, method.upper(), path, body, creds)
        check(template, method, status, payload)
