"""The front worker under `strata serve`: HTTP/1.1 as clients speak it (keep-alive, pipelining,
Expect: 100-continue, chunked bodies) still works now that the event loop reads each request."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.metrics.scrape import scrape
from tests.support.zips import layer_zip

pytestmark = pytest.mark.parametrize("strata_server", ["sqlite-fs"], indirect=True)


def _signed(
    server, account, method: str, path: str, body: bytes = b"", **headers
) -> dict[str, str]:
    headers = {"Host": f"127.0.0.1:{server.port}", **headers}
    request = AWSRequest(method=method, url=server.url + path, data=body, headers=headers)
    SigV4Auth(
        Credentials(account.access_key_id, account.secret_access_key), "lambda", server.region
    ).add_auth(request)
    return dict(request.headers.items())


def _publish_body() -> bytes:
    return json.dumps({"Content": {"ZipFile": base64.b64encode(layer_zip()).decode()}}).encode()


def _head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1"] + [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _read_response(sock: socket.socket, pending: bytearray | None = None) -> tuple[int, bytes]:
    """One response with a Content-Length (all this server's small answers have one). Bytes read
    past it stay in `pending` for the next call."""
    pending = bytearray() if pending is None else pending
    sock.settimeout(10)
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        assert chunk, bytes(pending)
        pending += chunk
    end = pending.index(b"\r\n\r\n")
    head = bytes(pending[:end])
    length = int(
        next(
            line.split(b":")[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    while len(pending) < end + 4 + length:
        chunk = sock.recv(65536)
        assert chunk
        pending += chunk
    body = bytes(pending[end + 4 : end + 4 + length])
    del pending[: end + 4 + length]
    return int(head.split()[1]), body


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def test_keep_alive__many_requests_share_one_connection(strata_server, account, lam):
    lam.publish_layer_version(LayerName="kept", Content={"ZipFile": layer_zip()})
    path = "/2018-10-31/layers/kept/versions/1"
    connection = http.client.HTTPConnection("127.0.0.1", strata_server.port, timeout=10)
    first_socket = None
    try:
        for _ in range(5):
            connection.request("GET", path, headers=_signed(strata_server, account, "GET", path))
            first_socket = first_socket if _ else connection.sock
            response = connection.getresponse()
            assert response.status == 200, response.read()
            assert json.loads(response.read())["Version"] == 1
            assert connection.sock is first_socket  # not reopened
    finally:
        connection.close()


def test_keep_alive__an_idle_connection_outlasts_gunicorns_two_seconds(strata_server):
    """A burst's clients come back on the connections they had, so to the worker holding their
    warm environments."""
    with _connect(strata_server) as sock:
        pending = bytearray()
        sock.sendall(_head("GET", "/healthz", {"Host": "x"}))
        assert _read_response(sock, pending)[0] == 200
        time.sleep(3)
        sock.sendall(_head("GET", "/healthz", {"Host": "x"}))
        assert _read_response(sock, pending)[0] == 200


def test_pipelined_requests__are_answered_in_order(strata_server):
    with _connect(strata_server) as sock:
        sock.sendall(
            _head("GET", "/healthz", {"Host": "x"}) + _head("GET", "/nowhere", {"Host": "x"})
        )
        pending = bytearray()
        assert _read_response(sock, pending)[0] == 200
        assert _read_response(sock, pending)[0] == 404


def test_expect_100_continue__signed_publish_is_invited_then_stored(strata_server, account, lam):
    body = _publish_body()
    path = "/2018-10-31/layers/continued/versions"
    headers = _signed(
        strata_server, account, "POST", path, body, **{"Content-Type": "application/json"}
    )
    headers.update({"Content-Length": str(len(body)), "Expect": "100-continue"})
    with _connect(strata_server) as sock:
        sock.sendall(_head("POST", path, headers))
        assert sock.recv(64) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, answer = _read_response(sock)
    assert status == 201, answer
    assert lam.get_layer_version(LayerName="continued", VersionNumber=1)["Version"] == 1


def test_expect_100_continue__unsigned_request_is_refused_without_an_invitation(strata_server):
    path = "/2018-10-31/layers/uninvited/versions"
    with _connect(strata_server) as sock:
        sock.sendall(
            _head("POST", path, {"Host": "x", "Content-Length": "1000", "Expect": "100-continue"})
        )
        status, answer = _read_response(sock)
    assert status == 403
    assert json.loads(answer)["__type"] == "MissingAuthenticationTokenException"


def test_chunked_body__signed_publish_is_stored(strata_server, account, lam):
    body = _publish_body()
    path = "/2018-10-31/layers/chunked/versions"
    headers = _signed(
        strata_server,
        account,
        "POST",
        path,
        body,
        **{"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(body[i : i + 100]), body[i : i + 100])
        for i in range(0, len(body), 100)
    )
    with _connect(strata_server) as sock:
        sock.sendall(_head("POST", path, headers) + chunks + b"0\r\n\r\n")
        status, answer = _read_response(sock)
    assert status == 201, answer
    assert lam.get_layer_version(LayerName="chunked", VersionNumber=1)["Version"] == 1


def test_malformed_chunks__answer_400_store_nothing_and_are_counted(strata_server, account, lam):
    before = _refused(strata_server, "malformed")
    path = "/2018-10-31/layers/badchunks/versions"
    headers = _signed(
        strata_server, account, "POST", path, b"{}", **{"Transfer-Encoding": "chunked"}
    )
    with _connect(strata_server) as sock:
        sock.sendall(_head("POST", path, headers) + b"2\r\n{}XX")
        status, _ = _read_response(sock)
    assert status == 400
    assert lam.list_layer_versions(LayerName="badchunks")["LayerVersions"] == []
    assert _refused(strata_server, "malformed") - before == 1


def test_body_over_the_api_limit__answers_413_without_reading_it(strata_server, account):
    path = "/2018-10-31/layers/huge/versions"
    declared = 80 * 1024 * 1024
    headers = _signed(strata_server, account, "POST", path, **{"Content-Length": str(declared)})
    with _connect(strata_server) as sock:
        started = time.monotonic()
        sock.sendall(_head("POST", path, headers) + b"{")
        status, _ = _read_response(sock)
        assert status == 413
        assert time.monotonic() - started < 2
        sock.settimeout(5)
        assert sock.recv(1) == b""  # closed: the rest of the body is never awaited


def test_head_too_large__answers_431_and_is_counted(strata_server):
    before = _refused(strata_server, "too_large")
    with _connect(strata_server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Pad: " + b"a" * 70_000 + b"\r\n\r\n"
        )
        status, _ = _read_response(sock)
    assert status in (400, 431)
    assert _refused(strata_server, "too_large") - before == 1


def test_request_line_too_long__answers_414_and_is_counted(strata_server):
    before = _refused(strata_server, "too_large")
    with _connect(strata_server) as sock:
        sock.sendall(b"GET /2017-03-31/tags/" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _ = _read_response(sock)
    assert status == 414
    assert _refused(strata_server, "too_large") - before == 1


def test_unparsable_request_line__answers_400_and_is_counted(strata_server):
    before = _refused(strata_server, "malformed")
    with _connect(strata_server) as sock:
        sock.sendall(b"NOT AN HTTP REQUEST\r\n\r\n")
        status, _ = _read_response(sock)
    assert status == 400
    assert _refused(strata_server, "malformed") - before == 1


def _refused(server, reason: str) -> float:
    return scrape(server.url).value("strata_front_refusals_total", reason=reason)
