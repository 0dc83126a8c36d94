"""GetLayerVersion the direct way: the same answer as botocore's, or none at all."""

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.credentials import Credentials

from registry.client.connection import Connection, resolver_for
from registry.client.direct_get import DirectGetLayerVersion
from registry.client.requirements import parse_requirement
from registry.client.resolve import Resolver
from tests.client.conftest import build_zip


def _unsigned(url):
    return url.partition("?")[0]


def _direct(strata_server, account, secret=None):
    credentials = Credentials(account.access_key_id, secret or account.secret_access_key)
    return DirectGetLayerVersion(strata_server.url, strata_server.region, credentials)


def test_direct_get__answers_exactly_what_botocore_parses(strata_server, account, lam):
    published = lam.publish_layer_version(
        LayerName="direct",
        Content={"ZipFile": build_zip({"python/a.py": "A = 1\n"})},
        CompatibleRuntimes=["python3.12"],
        Description="for the direct path",
    )
    expected = lam.get_layer_version(LayerName="direct", VersionNumber=published["Version"])
    expected.pop("ResponseMetadata")
    direct = _direct(strata_server, account)("direct", published["Version"])
    # Download links are signed at the time of asking: the same object, perhaps another expiry.
    assert _unsigned(direct["Content"].pop("Location")) == _unsigned(
        expected["Content"].pop("Location")
    )
    assert direct == expected
    by_arn = _direct(strata_server, account)(published["LayerArn"], published["Version"])
    assert by_arn["LayerVersionArn"] == published["LayerVersionArn"]


def test_direct_get__leaves_every_failure_to_botocore(strata_server, account, lam):
    lam.publish_layer_version(LayerName="direct", Content={"ZipFile": build_zip({"a.txt": "a"})})
    assert _direct(strata_server, account)("direct", 99) is None  # 404
    assert _direct(strata_server, account, secret="wrong")("direct", 1) is None  # 403
    unreachable = DirectGetLayerVersion("http://127.0.0.1:9", "us-east-1", Credentials("a", "b"))
    assert unreachable("direct", 1) is None


def test_direct_get__a_way_that_failed_once_is_not_tried_again():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        direct = DirectGetLayerVersion(
            f"http://127.0.0.1:{listener.getsockname()[1]}", "us-east-1", Credentials("a", "b")
        )
        sent = direct.send("layer", 1)
        accepted, _ = listener.accept()
        accepted.close()  # the connection drops before an answer
        assert sent.result() is None
        assert direct.send("layer", 1) is None
        listener.settimeout(0.2)
        with pytest.raises(TimeoutError):
            listener.accept()


def test_prefetch__every_pinned_layer_in_flight_at_once_and_read_later(strata_server, account, lam):
    for name in ("one", "two"):
        lam.publish_layer_version(
            LayerName=name, Content={"ZipFile": build_zip({f"{name}.txt": name})}
        )
    requirements = [
        parse_requirement("one==1"),
        parse_requirement("two"),
        parse_requirement("two==1"),
    ]
    resolver = Resolver(lam, direct_get=_direct(strata_server, account))
    sent = resolver.prefetch(requirements)
    assert sorted(sent) == [0, 2]  # "two" has no pinned version: it needs the version list first
    layers = resolver.resolve_all(requirements, prefetched=sent)
    assert [(layer.name, layer.version) for layer in layers] == [("one", 1), ("two", 1), ("two", 1)]
    assert layers[0].sha256 == Resolver(lam).resolve(requirements[0]).sha256


def test_resolver_for__leaves_proxied_connections_to_botocore(monkeypatch, strata_server, account):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", account.secret_access_key)
    conn = Connection(endpoint_url=strata_server.url, region=strata_server.region)
    assert resolver_for(conn).direct_get is not None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert resolver_for(conn).direct_get is None


def test_resolve__falls_back_to_botocore_when_the_direct_call_declines(strata_server, account, lam):
    lam.publish_layer_version(LayerName="direct", Content={"ZipFile": build_zip({"a.txt": "a"})})
    asked = []

    def declining(name, version):
        asked.append((name, version))
        return None

    layer = Resolver(lam, direct_get=declining).resolve(parse_requirement("direct==1"))
    assert asked == [("direct", 1)]
    assert (layer.name, layer.version, layer.size) == (
        "direct",
        1,
        layer.response["Content"]["CodeSize"],
    )


def test_direct_get__a_kept_alive_connection_the_server_closed_is_replaced_not_given_up():
    served = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            served.append(self.path)
            body = json.dumps({"Version": len(served)}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True  # as a keep-alive timeout does: without saying so first

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        direct = DirectGetLayerVersion(
            f"http://127.0.0.1:{server.server_port}", "us-east-1", Credentials("a", "b")
        )
        assert direct("layer", 1) == {"Version": 1}
        time.sleep(0.1)  # the server has closed that connection by now
        assert direct("layer", 1) == {"Version": 2}
        assert direct("layer", 1) == {"Version": 3}
    finally:
        server.shutdown()
        server.server_close()
