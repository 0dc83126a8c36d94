"""The Runtime API as a runtime sees it, over real HTTP on loopback."""

from __future__ import annotations

import http.client
import json
import socket
import threading

import pytest

from registry.executor.netns import listen_on_host
from registry.executor.runtime_api import RuntimeApiServer
from registry.executor.runtime_channel import MAX_RESPONSE_BYTES, Invocation, RuntimeChannel

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
    invocation = Invocation(
        request_id=request_id,
        payload=b'{"n": 1}',
        deadline_ms=1234,
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:f",
        trace_id="Root=1-0-0;Sampled=0",
        client_context='{"c": 1}',
    )
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
    assert answer.getheader("Lambda-Runtime-Client-Context") == '{"c":1}'
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

    conn.request(
        "POST",
        f"{BASE}/invocation/req-1/error",
        b'{"errorType": "X"}',
        {"Lambda-Runtime-Function-Error-Type": "Unhandled"},
    )

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

    conn.request(
        "POST",
        f"{BASE}/init/error",
        b'{"errorType": "Runtime.Boom"}',
        {"Lambda-Runtime-Function-Error-Type": "Runtime.Boom"},
    )

    assert conn.getresponse().status == 202
    assert channel.init_error == (b'{"errorType": "Runtime.Boom"}', "Runtime.Boom")


def test_expect_continue_and_chunked_bodies_are_understood(api):
    channel, port = api
    invocation = submit(channel)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    raw.sendall(
        f"POST {BASE}/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
        "Expect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    )
    assert raw.recv(64).startswith(b"HTTP/1.1 100 Continue")

    raw.sendall(b'3\r\n"ab\r\n2\r\nc"\r\n0\r\n\r\n')

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


# ---- what a hostile runtime sends -----------------------------------------------------------


def taken(channel, port, request_id="req-1"):
    """An invocation the runtime has taken with GET /next (over its own connection)."""
    invocation = submit(channel, request_id)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", f"{BASE}/invocation/next")
    conn.getresponse().read()
    conn.close()
    return invocation


def raw_exchange(port, head: bytes, body: bytes = b"") -> tuple[int, dict, bool]:
    """Sends `head` (and `body`), returns (status, JSON answer, whether the server then closed)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        sock.sendall(head + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer: {data!r}"
            data += chunk
        raw_head, _, rest = data.partition(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        fields = {
            k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])
        }
        length = int(fields["content-length"])
        while len(rest) < length:
            rest += sock.recv(65536)
        closed = True
        sock.settimeout(3)
        try:
            while True:
                more = sock.recv(65536)
                if not more:
                    break
        except TimeoutError:
            closed = False
        except ConnectionResetError:
            pass
        return int(lines[0].split()[1]), json.loads(rest[:length]), closed
    finally:
        sock.close()


def post(path: str, *headers: str) -> bytes:
    return (
        f"POST {BASE}/{path} HTTP/1.1\r\nHost: x\r\n"
        + "".join(h + "\r\n" for h in headers)
        + "\r\n"
    ).encode()


@pytest.mark.parametrize("length", ["-1", "abc", "+5", "0x10", "1 2", "", "99999999999999999999"])
def test_response__with_a_malformed_content_length_is_refused_and_not_read(api, length):
    channel, port = api
    invocation = taken(channel, port)

    status, answer, closed = raw_exchange(
        port, post("invocation/req-1/response", f"Content-Length: {length}"), b'"sneaky"'
    )

    assert (status, answer["errorType"], closed) == (400, "InvalidRequest", True)
    assert not invocation.answered


def test_init_error__with_content_length_minus_one_is_refused_without_reading_to_eof(api):
    channel, port = api

    status, _, closed = raw_exchange(port, post("init/error", "Content-Length: -1"), b"x" * 1000)

    assert (status, closed) == (400, True)
    assert channel.init_error is None


def test_duplicated_or_conflicting_framing_is_refused(api):
    channel, port = api
    invocation = taken(channel, port)

    for headers in (
        ("Content-Length: 2", "Content-Length: 8"),
        ("Content-Length: 8", "Transfer-Encoding: chunked"),
        ("Transfer-Encoding: gzip, chunked",),
    ):
        status, _, closed = raw_exchange(port, post("invocation/req-1/response", *headers), b'"a"')
        assert (status, closed) == (400, True), headers
    assert not invocation.answered


def test_response__declaring_gigabytes_is_recorded_as_oversized_without_reading_it(api):
    channel, port = api
    invocation = taken(channel, port)

    # Nothing of the body is sent: the answer comes from the declared length alone.
    status, answer, closed = raw_exchange(
        port, post("invocation/req-1/response", f"Content-Length: {2 << 30}")
    )

    assert (status, answer["errorType"], closed) == (413, "RequestEntityTooLarge", True)
    assert invocation.answered and invocation.response is None
    assert invocation.oversized == 2 << 30


def test_response__oversized_with_expect_continue_gets_no_continue(api):
    channel, port = api
    taken(channel, port)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        post(
            "invocation/req-1/response",
            f"Content-Length: {MAX_RESPONSE_BYTES + 1}",
            "Expect: 100-continue",
        )
    )

    assert sock.recv(64).startswith(b"HTTP/1.1 413")
    sock.close()


def test_response__one_huge_chunk_is_refused_from_its_size_line(api):
    channel, port = api
    invocation = taken(channel, port)

    status, _, closed = raw_exchange(
        port,
        post("invocation/req-1/response", "Transfer-Encoding: chunked"),
        b"ffffffffffff\r\n" + b"x" * 1000,
    )

    assert (status, closed) == (413, True)
    assert invocation.oversized == 0xFFFFFFFFFFFF and invocation.response is None


def test_response__endless_chunks_stop_at_the_limit(api):
    channel, port = api
    invocation = taken(channel, port)
    chunk = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(post("invocation/req-1/response", "Transfer-Encoding: chunked"))
    sent, answer = 0, b""
    try:
        for _ in range(64):  # 64 MB at most, far past the 6 MB limit
            sock.sendall(chunk)
            sent += 1
    except OSError:
        pass
    sock.settimeout(5)
    try:
        answer = sock.recv(64)
    except OSError:
        pass
    sock.close()

    assert sent < 64 and answer.startswith(b"HTTP/1.1 413")
    assert invocation.oversized is not None and MAX_RESPONSE_BYTES < invocation.oversized <= 7 << 20


@pytest.mark.parametrize("size_line", [b"-1", b"zz", b"0x10", b"1" * 17, b""])
def test_response__malformed_chunk_sizes_are_refused(api, size_line):
    channel, port = api
    invocation = taken(channel, port)

    status, _, closed = raw_exchange(
        port,
        post("invocation/req-1/response", "Transfer-Encoding: chunked"),
        size_line + b"\r\nabc\r\n0\r\n\r\n",
    )

    assert (status, closed) == (400, True)
    assert not invocation.answered


def test_overlong_header_lines_and_too_many_headers_are_refused(api):
    _, port = api

    assert raw_exchange(port, post("init/error", "X-Long: " + "a" * 10000))[0] == 431
    many = [f"X-H{i}: {i}" for i in range(200)]
    assert raw_exchange(port, post("init/error", *many))[0] == 431
    assert raw_exchange(port, b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n\r\n")[0] == 414


def test_answer_for_another_request_id_is_refused_before_its_body_is_read(api):
    channel, port = api
    invocation = taken(channel, port)

    status, answer, closed = raw_exchange(
        port, post("invocation/someone-else/response", f"Content-Length: {5 << 20}")
    )

    assert (status, answer["errorType"], closed) == (400, "InvalidRequestID", True)
    assert not invocation.answered


def test_error__past_its_limit_is_recorded_as_too_large(api):
    channel, port = api
    invocation = taken(channel, port)

    status, _, _ = raw_exchange(port, post("invocation/req-1/error", f"Content-Length: {3 << 20}"))

    assert status == 413
    assert json.loads(invocation.error)["errorType"] == "Function.ErrorSizeTooLarge"


def test_get_next_with_a_body_is_refused(api):
    channel, port = api
    submit(channel)

    status, _, closed = raw_exchange(
        port, f"GET {BASE}/invocation/next HTTP/1.1\r\nContent-Length: 5\r\n\r\n".encode(), b"abcde"
    )

    assert (status, closed) == (400, True)


def test_client_context_with_crlf_never_becomes_a_header(api):
    channel, port = api
    invocation = Invocation(
        request_id="req-1",
        payload=b"{}",
        deadline_ms=1,
        function_arn="arn",
        trace_id="t",
        client_context='{"a": "x\r\nX-Evil: 1\r\n\r\nbody"}',
    )
    channel.submit(invocation)
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(f"GET {BASE}/invocation/next HTTP/1.1\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    sock.close()
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1")

    assert "X-Evil" not in [line.partition(":")[0] for line in head.split("\r\n")]
    context = [
        line for line in head.split("\r\n") if line.startswith("Lambda-Runtime-Client-Context:")
    ]
    assert context == ['Lambda-Runtime-Client-Context: {"a":"x\\r\\nX-Evil: 1\\r\\n\\r\\nbody"}']


def test_client_context_that_is_not_json_is_dropped(api):
    channel, port = api
    invocation = Invocation(
        request_id="req-1",
        payload=b"{}",
        deadline_ms=1,
        function_arn="arn",
        trace_id="t",
        client_context="raw\r\nX-Evil: 1",
    )
    channel.submit(invocation)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)

    conn.request("GET", f"{BASE}/invocation/next")
    answer = conn.getresponse()

    assert answer.getheader("X-Evil") is None
    assert answer.getheader("Lambda-Runtime-Client-Context") is None


def test_connection_the_admission_check_refuses__is_closed_before_anything_is_read():
    channel = RuntimeChannel()
    submit(channel)
    listener = listen_on_host()
    server = RuntimeApiServer(listener, channel, admit=lambda conn: False)
    server.start()
    try:
        sock = socket.create_connection(listener.getsockname(), timeout=5)
        sock.sendall(f"GET {BASE}/invocation/next HTTP/1.1\r\n\r\n".encode())
        try:
            answer = sock.recv(65536)
        except ConnectionResetError:
            answer = b""
        sock.close()

        assert answer == b"" and server.refused == 1
        assert channel.ready_at is None  # the event was never offered
    finally:
        server.close()
