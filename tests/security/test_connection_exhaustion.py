"""Item 10: slow or stalled clients, authenticated or not, hold no request thread and cost no
memory for bytes they never send (nor do clients that stop reading a download); /healthz and
GetLayerVersion keep answering within 100 ms, and the server cuts stalled connections at its header
and body timeouts.

One dedicated `strata serve` (2 workers x 4 threads, as shipped) with short timeouts, so each
attack's connections are cut within the test."""

from __future__ import annotations

import functools
import hashlib
import os
import select
import socket
import time
import urllib.request
import zipfile
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.metrics.scrape import scrape
from tests.support.server import StrataServer, backend_env
from tests.support.zips import layer_zip, make_zip

ATTACKERS = 64
HEADER_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
DECLARED = 69 * 1024 * 1024
# Under the largest body the API accepts (a 50 MB zip in base64), so a signed one is read.
ACCEPTABLE = 60 * 1024 * 1024
# Bodies of that size a worker holds at once: its budget is four of the largest bodies.
BODIES_PER_WORKER = 4
LATENCY_BAR = 0.1
PUBLISH_PATH = "/2018-10-31/layers/victim/versions"


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("strata-front")
    env = {
        **backend_env("sqlite-fs", data_dir, request),
        "STRATA_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "STRATA_BODY_TIMEOUT": str(BODY_TIMEOUT),
    }
    server = StrataServer(data_dir=data_dir, env=env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def victim(server):
    """An account with a layer version, which the measured GetLayerVersion reads."""
    account = server.new_account()
    lam = server.client(account)
    lam.publish_layer_version(LayerName="victim", Content={"ZipFile": layer_zip()})
    return account, lam


def _connect(server: StrataServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _open_stalled(server: StrataServer, prefix: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(ATTACKERS):
        sock = _connect(server)
        sock.sendall(prefix)
        sockets.append(sock)
    return sockets


def _signed_publish_head(
    server: StrataServer, account, declared: int, *, known_key: bool = True
) -> bytes:
    """The head of a PublishLayerVersion whose signature headers are all valid, for a body of
    `declared` zero bytes (of which the attacker sends almost nothing)."""
    key = account.access_key_id if known_key else "AKIAUNKNOWN000000000"
    request = AWSRequest(
        method="POST",
        url=server.url + PUBLISH_PATH,
        headers={"Content-Type": "application/json", "Content-Length": str(declared)},
    )
    request.context["payload_signing_enabled"] = True
    # SigV4 signs the payload's sha256; a stalled attacker never sends the body it signed.
    request.headers["X-Amz-Content-SHA256"] = _zeros_sha256(declared)
    SigV4Auth(Credentials(key, account.secret_access_key), "lambda", server.region).add_auth(
        request
    )
    lines = [f"POST {PUBLISH_PATH} HTTP/1.1", f"Host: 127.0.0.1:{server.port}"]
    lines += [
        f"{name}: {value}" for name, value in request.headers.items() if name.lower() != "host"
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@functools.lru_cache
def _zeros_sha256(length: int) -> str:
    return hashlib.sha256(bytes(length)).hexdigest()


def _latencies(
    server: StrataServer, lam, layer_version_arn: str, count: int = 5
) -> tuple[list[float], list[float]]:
    health, get_layer = [], []
    for _ in range(count):
        started = time.monotonic()
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            assert response.status == 200
        health.append(time.monotonic() - started)
        started = time.monotonic()
        assert lam.get_layer_version_by_arn(Arn=layer_version_arn)["Version"] == 1
        get_layer.append(time.monotonic() - started)
    return health, get_layer


def _worker_rss_kb(server: StrataServer) -> dict[int, int]:
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    rss = {}
    for pid in map(int, children):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss[pid] = int(line.split()[1])
    assert rss, "no gunicorn workers found"
    return rss


def _still_waiting(sock: socket.socket) -> bool:
    """Open, and nothing answered yet."""
    sock.setblocking(False)
    try:
        sock.recv(1, socket.MSG_PEEK)
        return False
    except BlockingIOError:
        return True
    finally:
        sock.setblocking(True)


def _answer_and_close(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (bounded by `deadline`)."""
    received = b""
    while time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return received + b"<reset>"
        if not chunk:
            return received + b"<closed>"
        received += chunk
    return received + b"<still open>"


def _wait_for_answers(sockets: list[socket.socket], count: int, within: float) -> None:
    """Until `count` of the connections have an answer waiting (bounded by `within`)."""
    deadline = time.monotonic() + within
    answered: set[socket.socket] = set()
    while len(answered) < count and time.monotonic() < deadline:
        waiting = [sock for sock in sockets if sock not in answered]
        readable, _, _ = select.select(waiting, [], [], max(deadline - time.monotonic(), 0))
        answered.update(readable)
    assert len(answered) >= count, (
        f"only {len(answered)} of {len(sockets)} answered within {within} s"
    )


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    """Sends as an attacker does, whether or not the server still listens."""
    try:
        sock.sendall(data)
    except OSError:
        pass


def _close_all(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _refused(server, reason: str) -> float:
    return scrape(server.url).value("strata_front_refusals_total", reason=reason)


def _wait_until_closed(sockets: list[socket.socket], within: float) -> list[bytes]:
    deadline = time.monotonic() + within
    return [_answer_and_close(sock, deadline) for sock in sockets]


def test_64_connections_stalled_in_headers__leave_healthz_and_get_layer_version_fast_and_are_cut(
    server, victim
):
    _account, lam = victim
    arn = lam.list_layer_versions(LayerName="victim")["LayerVersions"][0]["LayerVersionArn"]
    _latencies(
        server, lam, arn, count=1
    )  # warm the measuring client's connection and the key cache

    refused_before = _refused(server, "timeout")
    stalled = _open_stalled(
        server, b"GET /2018-10-31/layers/victim/versions/1 HTTP/1.1\r\nHost: x\r\nX-Slow: "
    )
    try:
        opened = time.monotonic()
        health, get_layer = _latencies(server, lam, arn)
        assert time.monotonic() - opened < HEADER_TIMEOUT, (
            "measured too late: the stalls may already be cut"
        )
        assert all(_still_waiting(sock) for sock in stalled)

        assert max(health) < LATENCY_BAR, health
        assert max(get_layer) < LATENCY_BAR, get_layer
        endings = _wait_until_closed(stalled, within=HEADER_TIMEOUT + 3)
    finally:
        _close_all(stalled)
    assert all(ending.endswith(b"<closed>") for ending in endings), set(endings)
    assert all(ending.startswith(b"HTTP/1.1 408 ") for ending in endings), set(endings)
    # An operator sees the attack: the application never saw these requests, the front counts them.
    assert _refused(server, "timeout") - refused_before == ATTACKERS


@pytest.mark.parametrize("signature", ["unsigned", "unknown-key", "stale-date"])
def test_unauthenticated_posts_declaring_69_mb__are_refused_before_the_body_and_cost_no_memory(
    server, victim, signature
):
    account, lam = victim
    arn = lam.list_layer_versions(LayerName="victim")["LayerVersions"][0]["LayerVersionArn"]
    if signature == "unsigned":
        head = (
            f"POST {PUBLISH_PATH} HTTP/1.1\r\nHost: x\r\nContent-Length: {DECLARED}\r\n\r\n"
        ).encode()
    elif signature == "unknown-key":
        head = _signed_publish_head(server, account, DECLARED, known_key=False)
    else:
        head = _signed_publish_head(server, account, DECLARED).replace(
            time.strftime("%Y%m%dT", time.gmtime()).encode(), b"20200101T"
        )
        assert b"20200101T" in head
    before = _worker_rss_kb(server)

    attackers = _open_stalled(server, head + b"{")
    try:
        # Answered long before the body timeout could have cut them: the body was never awaited.
        _wait_for_answers(attackers, ATTACKERS, within=BODY_TIMEOUT / 2)
        health, get_layer = _latencies(server, lam, arn)
        endings = _wait_until_closed(attackers, within=BODY_TIMEOUT / 2)
    finally:
        _close_all(attackers)
    after = _worker_rss_kb(server)

    assert all(ending.startswith(b"HTTP/1.1 403 ") for ending in endings), {e[:80] for e in endings}
    assert all(ending.endswith(b"<closed>") for ending in endings), {e[-40:] for e in endings}
    assert max(health) < LATENCY_BAR, health
    assert max(get_layer) < LATENCY_BAR, get_layer
    growth_mb = {pid: (after[pid] - before[pid]) / 1024 for pid in before if pid in after}
    assert max(growth_mb.values()) < 4, growth_mb
    assert lam.list_layer_versions(LayerName="victim")["LayerVersions"][0]["Version"] == 1


@pytest.mark.parametrize("pace", ["stalled", "trickling"])
def test_validly_signed_posts_that_stall_their_body__block_no_one_and_are_cut_at_the_body_timeout(
    server, victim, pace
):
    account, lam = victim
    arn = lam.list_layer_versions(LayerName="victim")["LayerVersions"][0]["LayerVersionArn"]
    head = _signed_publish_head(server, account, ACCEPTABLE)
    before = _worker_rss_kb(server)

    attackers = _open_stalled(server, head + b"{")
    try:
        # Past the budget the rest are answered at once; the measuring starts once they have been.
        _wait_for_answers(attackers, ATTACKERS - 2 * BODIES_PER_WORKER, within=BODY_TIMEOUT / 2)
        health, get_layer = [], []
        # Trickling attackers send a byte per connection between measurements, well inside the
        # body timeout, so only their pace (not a stall) is what the server sees.
        for _ in range(3):
            if pace == "trickling":
                for sock in attackers:
                    _send_quietly(sock, b" ")
            more_health, more_get_layer = _latencies(server, lam, arn, count=2)
            health += more_health
            get_layer += more_get_layer
        assert max(health) < LATENCY_BAR, health
        assert max(get_layer) < LATENCY_BAR, get_layer
        endings = _wait_until_closed(attackers, within=BODY_TIMEOUT + 3)
    finally:
        _close_all(attackers)
    after = _worker_rss_kb(server)

    cut = [ending for ending in endings if ending.startswith(b"HTTP/1.1 408 ")]
    throttled = [ending for ending in endings if ending.startswith(b"HTTP/1.1 429 ")]
    assert len(cut) + len(throttled) == ATTACKERS, {e[:80] for e in endings}
    assert 1 <= len(cut) <= 2 * BODIES_PER_WORKER
    assert all(ending.endswith((b"<closed>", b"<reset>")) for ending in endings), {
        e[-40:] for e in endings
    }
    growth_mb = {pid: (after[pid] - before[pid]) / 1024 for pid in before if pid in after}
    assert max(growth_mb.values()) < 4, growth_mb
    versions = lam.list_layer_versions(LayerName="victim")["LayerVersions"]
    assert [v["Version"] for v in versions] == [1]


def test_validly_signed_posts_that_send_megabytes_then_stall__hold_no_more_than_the_budget(
    server, victim
):
    account, lam = victim
    head = _signed_publish_head(server, account, ACCEPTABLE)
    sent_each = 6 * 1024 * 1024
    before = _worker_rss_kb(server)

    attackers = _open_stalled(server, head)
    try:
        for sock in attackers:
            _send_quietly(sock, b"{" + bytes(sent_each - 1))
        time.sleep(0.5)  # what was sent has been read
        during = _worker_rss_kb(server)
        endings = _wait_until_closed(attackers, within=BODY_TIMEOUT + 3)
    finally:
        _close_all(attackers)

    throttled = [ending for ending in endings if ending.startswith(b"HTTP/1.1 429 ")]
    assert len(throttled) >= ATTACKERS - 2 * BODIES_PER_WORKER, {e[:80] for e in endings}
    assert b"TooManyRequestsException" in throttled[0]
    # Without the budget each worker would hold half the attackers' bytes: 192 MB.
    growth_mb = {pid: (during[pid] - before[pid]) / 1024 for pid in before if pid in during}
    assert max(growth_mb.values()) < BODIES_PER_WORKER * sent_each / 2**20 + 16, growth_mb
    assert [v["Version"] for v in lam.list_layer_versions(LayerName="victim")["LayerVersions"]] == [
        1
    ]


@pytest.fixture(scope="module")
def big_download(server) -> tuple[str, bytes]:
    """The path of a download of the attacker's own layer: incompressible, and far larger than
    what socket buffers absorb."""
    attacker = server.client(server.new_account())
    big = make_zip(
        {"python/noise.bin": os.urandom(20 * 1024 * 1024)}, compression=zipfile.ZIP_STORED
    )
    location = attacker.publish_layer_version(LayerName="big", Content={"ZipFile": big})["Content"][
        "Location"
    ]
    return location.split(f"127.0.0.1:{server.port}", 1)[1], big


def test_downloads_the_client_never_reads__hold_no_request_thread_and_are_cut(
    server, victim, big_download
):
    _account, lam = victim
    arn = lam.list_layer_versions(LayerName="victim")["LayerVersions"][0]["LayerVersionArn"]
    target, big = big_download

    readers = []
    try:
        for _ in range(2 * 8):  # twice the request threads of the server (2 workers x 4)
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", server.port))
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            readers.append(sock)
        time.sleep(0.3)  # every download has started and filled its socket
        health, get_layer = _latencies(server, lam, arn)
        assert max(health) < LATENCY_BAR, health
        assert max(get_layer) < LATENCY_BAR, get_layer

        time.sleep(BODY_TIMEOUT + 1.5)  # no progress past the body timeout: cut
        endings = [_answer_and_close(sock, time.monotonic() + 3) for sock in readers]
    finally:
        _close_all(readers)
    assert all(ending.endswith((b"<closed>", b"<reset>")) for ending in endings), [
        e[-20:] for e in endings
    ]
    assert all(len(ending) < len(big) for ending in endings), [len(e) for e in endings]


def test_a_download_read_slowly_but_steadily__is_delivered_whole_past_the_body_timeout(
    server, big_download
):
    target, big = big_download
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        received = bytearray()
        started = time.monotonic()
        piece = len(big) // 16
        while not _holds_body(received, len(big)) and time.monotonic() - started < 20:
            chunk = sock.recv(piece)
            if not chunk:
                break
            received += chunk
            time.sleep(BODY_TIMEOUT / 8)  # far slower than the server could send
    assert time.monotonic() - started > BODY_TIMEOUT  # the whole download outlasted the timeout
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert body == big


def _holds_body(received: bytearray, length: int) -> bool:
    end = received.find(b"\r\n\r\n")
    return end >= 0 and len(received) - end - 4 >= length
