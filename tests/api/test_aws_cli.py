"""The README's quick start, run with the real AWS CLI against a real server."""

from __future__ import annotations

import urllib.request

from tests.support.aws_cli import V1, run
from tests.support.zips import layer_zip


def aws(server, credentials, *args: str) -> dict:
    return run(V1, server, credentials, *args)


def test_aws_cli__publish_list_and_download(strata_server, account, tmp_path):
    data = layer_zip("numpy_stub", "__version__ = '2.1'\n")
    zip_path = tmp_path / "numpy.zip"
    zip_path.write_bytes(data)
    published = aws(
        strata_server,
        account,
        "publish-layer-version",
        "--layer-name",
        "numpy",
        "--zip-file",
        f"fileb://{zip_path}",
        "--compatible-runtimes",
        "python3.11",
        "python3.12",
        "--compatible-architectures",
        "x86_64",
        "--description",
        "numpy 2.1",
        "--license-info",
        "MIT",
    )
    assert published["LayerVersionArn"].endswith(f"{account.account_id}:layer:numpy:1")
    listed = aws(strata_server, account, "list-layers", "--compatible-runtime", "python3.12")
    assert [layer["LayerName"] for layer in listed["Layers"]] == ["numpy"]
    fetched = aws(
        strata_server,
        account,
        "get-layer-version",
        "--layer-name",
        "numpy",
        "--version-number",
        "1",
    )
    assert fetched["Description"] == "numpy 2.1" and fetched["LicenseInfo"] == "MIT"
    with urllib.request.urlopen(fetched["Content"]["Location"], timeout=10) as response:
        assert response.read() == data
