"""GET /metrics: who may read it (a bearer token, a listener of its own, or dev mode), what it
counts of the HTTP API, and that Prometheus can parse it."""

from __future__ import annotations

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics

from tests.metrics.scrape import Samples, get, scrape
from tests.support.functions import ECHO, create, publish, update_code
from tests.support.processes import free_loopback_port
from tests.support.zips import make_zip

TOKEN = "s3cret-metrics-token"


def _server(tmp_path_factory, name: str, *args: str, dev: bool = True, **env: str):
    from tests.support.server import StrataServer, backend_env

    data_dir = tmp_path_factory.mktemp(name)
    server = StrataServer(
        data_dir=data_dir, env={**backend_env("sqlite-fs", data_dir, None), **env}, dev=dev
    )
    server.start(*args)
    return server


@pytest.fixture(scope="module")
def token_server(tmp_path_factory):
    server = _server(tmp_path_factory, "strata-metrics-token", STRATA_METRICS_TOKEN=TOKEN)
    yield server
    server.stop()


def test_metrics__with_a_token_configured_refuse_a_scrape_without_it(token_server):
    status, headers, body = get(f"{token_server.url}/metrics")

    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body


def test_metrics__with_a_token_configured_refuse_a_wrong_one_even_in_dev_mode(token_server):
    assert get(f"{token_server.url}/metrics", token="not-" + TOKEN)[0] == 401


def test_metrics__answer_the_holder_of_the_token_in_prometheus_text(token_server):
    status, headers, body = get(f"{token_server.url}/metrics", token=TOKEN)

    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = Samples(body).names()
    assert {"strata_environments", "process_cpu_seconds_total", "python_info"} <= names


def test_metrics__answer_openmetrics_to_a_scraper_that_asks_for_it(strata_server):
    import urllib.request

    request = urllib.request.Request(
        f"{strata_server.url}/metrics",
        headers={"Accept": "application/openmetrics-text;version=1.0.0,text/plain;q=0.5"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers["Content-Type"].startswith("application/openmetrics-text")
        families = {family.name for family in openmetrics(response.read().decode())}
    assert "strata_http_requests" in families


def test_metrics__are_open_in_dev_mode_without_a_token(strata_server):
    assert get(f"{strata_server.url}/metrics")[0] == 200


def test_metrics__outside_dev_mode_without_protection_are_refused_with_what_to_set(
    tmp_path_factory,
):
    server = _server(tmp_path_factory, "strata-metrics-plain", dev=False)
    try:
        status, _, body = get(f"{server.url}/metrics")
    finally:
        server.stop()

    assert status == 403
    assert "STRATA_METRICS_TOKEN" in body and "STRATA_METRICS_BIND" in body


def test_metrics__bound_to_their_own_address_are_served_there_alone(tmp_path_factory):
    port = free_loopback_port()
    server = _server(
        tmp_path_factory, "strata-metrics-bind", "--metrics-bind", f"127.0.0.1:{port}", dev=False
    )
    own = f"http://127.0.0.1:{port}"
    try:
        assert get(f"{server.url}/metrics")[0] == 404
        assert get(f"{own}/metrics")[0] == 200
        # Only /metrics answers there: not the Lambda API, nor the probes.
        assert get(f"{own}/2018-10-31/layers")[0] == 404
        assert get(f"{own}/healthz")[0] == 404
        assert get(f"{server.url}/healthz")[0] == 200
    finally:
        server.stop()


def test_http_requests__unknown_paths_share_one_label(strata_server):
    before = scrape(strata_server.url)
    for path in ("/no/such/path", "/another/one", "/2015-03-31/nothing-here"):
        assert get(f"{strata_server.url}{path}")[0] in (403, 404)
    after = scrape(strata_server.url)

    def unknown(service: str) -> float:
        name = "strata_http_requests_total"
        return after.total(name, service=service, operation="Unknown") - before.total(
            name, service=service, operation="Unknown"
        )

    assert (unknown("strata"), unknown("lambda")) == (2, 1)
    assert "/no/such/path" not in after.text


def test_publishes__are_counted_by_account_and_kind(strata_server, lam, account):
    for content in (b"a", b"b"):
        lam.publish_layer_version(
            LayerName="counted", Content={"ZipFile": make_zip({"python/m.py": content})}
        )
    create(lam, "published", ECHO)
    update_code(lam, FunctionName="published", ZipFile=make_zip({"app.py": b"x = 1\n"}))
    publish(lam, FunctionName="published")
    with pytest.raises(lam.exceptions.ResourceConflictException):
        create(lam, "published", ECHO)  # refused: not a publish

    samples = scrape(strata_server.url)

    me = account.account_id
    assert samples.value("strata_publishes_total", account=me, kind="layer_version") == 2
    assert samples.value("strata_publishes_total", account=me, kind="function_code") == 2
    assert samples.value("strata_publishes_total", account=me, kind="function_version") == 1


def test_metrics__switched_off_are_neither_recorded_nor_served(tmp_path_factory):
    server = _server(tmp_path_factory, "strata-metrics-off", STRATA_METRICS="off")
    try:
        assert get(f"{server.url}/metrics")[0] == 404
        assert server.client().list_functions()["Functions"] == []
    finally:
        server.stop()
