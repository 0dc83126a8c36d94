"""The S3 backend against a server that hangs: every call ends in StorageUnavailable within its
bound, whether the server never answers, or stops in the middle of an answer."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.errors import StorageUnavailable
from storage.s3 import S3BlobStore

# The promise: a few seconds (one read timeout, or a connect timeout retried once), with room for
# a loaded machine.
BOUND_S = 9.0
DIGEST = "ab" * 32


def store_at(port: int) -> S3BlobStore:
    store = S3BlobStore(
        endpoint=f"127.0.0.1:{port}", access_key="key", secret_key="secret", bucket="hung"
    )
    store._bucket_ready = True  # start at the call itself, not at the bucket's creation
    return store


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port whose kernel accepts connections (the listen backlog) that nobody ever answers:
    what a paused storage server looks like."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.fixture
def stalling_port() -> Iterator[int]:
    """A server that answers every request with the start of a long body, then goes silent."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"x" * 1000)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        for conn in held:
            conn.close()


def timed_unavailable(call) -> float:
    started = time.monotonic()
    with pytest.raises(StorageUnavailable):
        call()
    return time.monotonic() - started


def test_every_call_to_a_server_that_never_answers__is_unavailable_within_the_bound(silent_port):
    store = store_at(silent_port)
    calls = {
        "stat": lambda: store.stat(DIGEST),
        "open": lambda: store.open(DIGEST),
        "delete": lambda: store.delete(DIGEST),
        "put_bytes": lambda: store.put_bytes(b"small"),
        # Larger than a part: spooled, then uploaded in parts.
        "put_stream": lambda: store.put_stream(io.BytesIO(b"p" * (12 << 20))),
        "open_object": lambda: store.open_object("hung", "user/object.zip"),
        "check": store.check,
    }
    with ThreadPoolExecutor(len(calls)) as pool:
        waits = dict(zip(calls, pool.map(timed_unavailable, calls.values()), strict=True))
    assert all(wait < BOUND_S for wait in waits.values()), waits


def test_a_read_whose_server_stops_midway__is_unavailable_within_the_bound(stalling_port):
    stream = store_at(stalling_port).open(DIGEST)  # the answer's head arrived
    assert timed_unavailable(stream.read) < BOUND_S
