from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

from registry.client import connection
from registry.client.connection import Connection, lambda_client
from registry.client.requirements import parse_requirement
from tests.client.conftest import build_zip

AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_LAMBDA",
    "STRATA_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
)


def _clean(monkeypatch, tmp_path):
    for name in AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


def test_lambda_client__endpoint_flag_beats_strata_env_beats_aws_env(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:3")
    assert lambda_client(Connection()).meta.endpoint_url == "http://127.0.0.1:3"
    monkeypatch.setenv("STRATA_ENDPOINT_URL", "http://127.0.0.1:2")
    assert lambda_client(Connection()).meta.endpoint_url == "http://127.0.0.1:2"
    assert (
        lambda_client(Connection(endpoint_url="http://127.0.0.1:1")).meta.endpoint_url
        == "http://127.0.0.1:1"
    )


def test_lambda_client__region_from_aws_settings_else_strata_default(monkeypatch, tmp_path):
    _clean(monkeypatch, tmp_path)
    monkeypatch.setenv("STRATA_ENDPOINT_URL", "http://127.0.0.1:2")
    assert lambda_client(Connection()).meta.region_name == "us-east-1"
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert lambda_client(Connection()).meta.region_name == "eu-west-1"
    assert lambda_client(Connection(region="ap-south-1")).meta.region_name == "ap-south-1"


def test_lambda_client__real_aws_needs_a_region(monkeypatch, tmp_path):
    import pytest

    from registry.client.errors import ClientError

    _clean(monkeypatch, tmp_path)
    with pytest.raises(ClientError, match="no AWS region configured"):
        lambda_client(Connection())


def test_resolver_for__builds_the_botocore_client_only_when_a_call_needs_it(
    monkeypatch, strata_server, account, lam
):
    lam.publish_layer_version(LayerName="deferred", Content={"ZipFile": build_zip({"a.txt": "a"})})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", account.secret_access_key)
    built = []
    make = connection.lambda_client
    monkeypatch.setattr(
        connection, "lambda_client", lambda *args: built.append(args) or make(*args)
    )

    resolver = connection.resolver_for(
        Connection(endpoint_url=strata_server.url, region=strata_server.region)
    )
    pinned = [parse_requirement("deferred==1")]
    assert resolver.resolve_all(pinned, prefetched=resolver.prefetch(pinned))[0].version == 1
    assert resolver.origin == (strata_server.url, strata_server.region)
    assert built == []
    assert (
        resolver.resolve(parse_requirement("deferred")).version == 1
    )  # ListLayerVersions: botocore's
    assert len(built) == 1


def test_deferred__made_once_on_first_use_from_any_thread():
    made = []
    deferred = connection._Deferred(lambda: made.append(1) or SimpleNamespace(value=7))
    assert made == []
    with ThreadPoolExecutor(8) as pool:
        assert list(pool.map(lambda _: deferred.value, range(32))) == [7] * 32
    assert made == [1]
