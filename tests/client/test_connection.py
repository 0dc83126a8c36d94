from registry.client.connection import Connection, lambda_client

AWS_ENV = ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LAMBDA", "STRATA_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")


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
    assert lambda_client(Connection(endpoint_url="http://127.0.0.1:1")).meta.endpoint_url == "http://127.0.0.1:1"


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
