"""The uid behind a loopback connection, as the Runtime API's admission check reads it."""

from __future__ import annotations

import os
import socket

import pytest

from registry.executor.peers import loopback_peer_uid, only_uid
from tests.support import require_service

OTHER_UID = 2_099_999_917


@pytest.fixture
def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    yield sock
    sock.close()


def _connect_as(uid: int, port: int) -> int:
    """A child that connects as `uid` and waits; returns its pid."""
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(ready_r)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            client = socket.socket()
            client.connect(("127.0.0.1", port))
            os.write(ready_w, b"x")
            client.recv(1)
        finally:
            os._exit(0)
    os.close(ready_w)
    os.read(ready_r, 1)
    os.close(ready_r)
    return pid


def test_connection_from_another_uid__is_told_apart_from_ours(listener):
    require_service(os.geteuid() == 0, "connecting as another uid needs root")
    port = listener.getsockname()[1]
    child = _connect_as(OTHER_UID, port)
    try:
        theirs, _ = listener.accept()
        ours = socket.create_connection(("127.0.0.1", port))
        mine, _ = listener.accept()

        assert loopback_peer_uid(theirs) == OTHER_UID
        assert loopback_peer_uid(mine) == os.geteuid()
        assert only_uid(OTHER_UID)(theirs) and not only_uid(OTHER_UID)(mine)
    finally:
        theirs.close()
        os.waitpid(child, 0)
        ours.close()
        mine.close()
