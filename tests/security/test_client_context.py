"""Item 11: an Invoke's X-Amz-Client-Context is data for the handler, never header text."""

from __future__ import annotations

import base64
import json

import pytest

from tests.support.functions import create, handler_zip, invoke
from tests.support.zips import make_zip

INJECTION = "\r\nX-Injected: 1\r\nLambda-Runtime-Aws-Request-Id: forged"
CONTEXT = {
    "custom": {"note": "hello" + INJECTION},
    "client": {"installation_id": INJECTION},
    "env": {},
}

# A custom runtime that reads /next with a raw socket and answers with the header lines it got, so
# a header smuggled into the Runtime API response shows up as a line of its own.
HEADER_DUMPING_BOOTSTRAP = r"""#!/usr/bin/python3.11
import json, os, socket

host, _, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rpartition(":")


def call(method, path, body=b""):
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return head.decode("latin-1").split("\r\n")[1:]


while True:
    lines = call("GET", "/2018-06-01/runtime/invocation/next")
    request_id = next(
        l.split(":", 1)[1].strip()
        for l in lines
        if l.lower().startswith("lambda-runtime-aws-request-id:")
    )
    call(
        "POST",
        f"/2018-06-01/runtime/invocation/{request_id}/response",
        json.dumps({"lines": lines}).encode(),
    )
"""


def _encoded(document) -> str:
    return base64.b64encode(json.dumps(document).encode()).decode()


def test_client_context_with_crlf__reaches_the_handler_as_data_and_adds_no_runtime_header(lam):
    create(
        lam,
        "cc-python",
        handler_zip("def handler(event, context):\n    return context.client_context\n"),
    )
    create(
        lam,
        "cc-custom",
        make_zip({"bootstrap": HEADER_DUMPING_BOOTSTRAP}, modes={"bootstrap": 0o755}),
        Runtime="provided.al2023",
        Handler="unused",
    )

    _, seen = invoke(lam, "cc-python", ClientContext=_encoded(CONTEXT))
    assert seen == CONTEXT

    response, dumped = invoke(lam, "cc-custom", ClientContext=_encoded(CONTEXT))
    assert "FunctionError" not in response, dumped
    names = [line.partition(":")[0].strip().lower() for line in dumped["lines"]]
    assert "x-injected" not in names
    assert names.count("lambda-runtime-aws-request-id") == 1
    assert not any(
        "forged" in line
        for line in dumped["lines"]
        if line.lower().startswith("lambda-runtime-aws")
    )
    context_lines = [
        line
        for line in dumped["lines"]
        if line.lower().startswith("lambda-runtime-client-context:")
    ]
    assert len(context_lines) == 1
    assert json.loads(context_lines[0].partition(":")[2]) == CONTEXT


@pytest.mark.parametrize(
    "value",
    [
        base64.b64encode(b"[1, 2]").decode(),  # JSON, but not an object
        base64.b64encode(b'{"a": NaN}').decode(),  # not JSON
        base64.b64encode(
            b'{"a":' + b"[" * 1200 + b"]" * 1200 + b"}"
        ).decode(),  # nested past the parser
        "not base64!",
        _encoded({"custom": {"k": "v" * 3000}}),  # over 3583 bytes of base64
    ],
)
def test_client_context_malformed__is_refused_before_anything_runs(lam, value):
    create(lam, "cc-refused", handler_zip("def handler(event, context):\n    return 1\n"))
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName="cc-refused", Payload=b"{}", ClientContext=value)
