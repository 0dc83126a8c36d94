"""The Runtime API as a runtime sees it, over real HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from registry.executor.netns import listen_on_host
from registry.executor.runtime_api import (MAX_RESPONSE_BYTES, Invocation, RuntimeApiServer,
                                           RuntimeChannel)

BASE = "/2018-06-01/runtime"


@pytest.fixture
def api():
    channel = RuntimeChannel()
    listener = listen_on_host()
    server = RuntimeApiServer(listener, channel)
    server.start()
    yield channel, listener.getsockname()[1]
    server.close()


def submit(channel, request_id="req-1"):
    invocation = Invocation(request_id=request_id, payload=b'{"n": 1}', deadline_ms=1234,
                            function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
                            trace_id="Root=1-0-0;Sampled=0", client_context='{"c": 1}')
    channel.submit(invocation)
    return invocation


def test_next__returns_the_event_with_lambdas_headers(api):
    channel, port = api
    submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    conn.request("GET", f"{BASE}/invocation/next")
    answer = conn.getresponse()

    assert answer.status == 200 and answer.read() == b'{"n": 1}'
    assert answer.getheader("Lambda-Runtime-Aws-Request-Id") == "req-1"
    assert answer.getheader("Lambda-Runtime-Deadline-Ms") == "1234"
    assert answer.getheader("Lambda-Runtime-Invoked-Function-Arn").endswith(":function:f")
    assert answer.getheader("Lambda-Runtime-Trace-Id") == "Root=1-0-0;Sampled=0"
    assert answer.getheader("Lambda-Runtime-Client-Context") == '{"c": 1}'
    assert channel.ready_at is not None


def test_response__is_accepted_once_for_the_current_request(api):
    channel, port = api
    invocation = submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()

    conn.request("POST", f"{BASE}/invocation/wrong-id/response", b"{}")
    wrong = conn.getresponse()
    assert (wrong.status, json.loads(wrong.read())["errorType"]) == (400, "InvalidRequestID")
    conn.request("POST", f"{BASE}/invocation/req-1/response", b'"ok"')
    assert conn.getresponse().status == 202
    assert invocation.answered and invocation.response == b'"ok"'


def test_error__keeps_the_error_type_header(api):
    channel, port = api
    invocation = submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()

    conn.request("POST", f"{BASE}/invocation/req-1/error", b'{"errorType": "X"}',
                 {"Lambda-Runtime-Function-Error-Type": "Unhandled"})

    assert conn.getresponse().status == 202
    assert (invocation.error, invocation.error_type) == (b'{"errorType": "X"}', "Unhandled")


def test_response__past_six_megabytes_is_refused_and_recorded(api):
    channel, port = api
    invocation = submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()

    conn.request("POST", f"{BASE}/invocation/req-1/response", b"x" * (MAX_RESPONSE_BYTES + 1))

    assert conn.getresponse().status == 413
    assert invocation.response is None and invocation.oversized == MAX_RESPONSE_BYTES + 1


def test_init_error__is_recorded_before_any_invocation(api):
    channel, port = api
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    conn.request("POST", f"{BASE}/init/error", b'{"errorType": "Runtime.Boom"}',
                 {"Lambda-Runtime-Function-Error-Type": "Runtime.Boom"})

    assert conn.getresponse().status == 202
    assert channel.init_error == (b'{"errorType": "Runtime.Boom"}', "Runtime.Boom")


def test_expect_continue_and_chunked_bodies_are_understood(api):
    channel, port = api
    invocation = submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(f"POST {BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
                "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    assert raw.recv(64).startswith(b"HTTP/1.1 100 Continue")

    raw.sendall(b"3\r\n\"ab\r\n2\r\nc\"\r\n0\r\n\r\n")

    assert raw.recv(1024).startswith(b"HTTP/1.1 202")
    assert invocation.response == b'"abc"'
    raw.close()


def test_next__waits_until_an_invocation_arrives(api):
    channel, port = api
    got = {}

    def runtime():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", f"{BASE}/invocation/next")
        got["id"] = conn.getresponse().getheader("Lambda-Runtime-Aws-Request-Id")

    thread = threading.Thread(target=runtime)
    thread.start()
    assert channel.wait_ready(5)
    submit(channel, "later")
    thread.join(5)
    assert got == {"id": "later"}
