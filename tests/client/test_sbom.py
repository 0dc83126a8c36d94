"""`strata layers sbom`: a layer version's CycloneDX bill of materials, computed by the client from
the zip it downloads, the same document the console serves."""

from __future__ import annotations

import json

from tests.console.web import Visitor
from tests.inventory.real_packages import node_files, python_files


def test_layers_sbom__lists_the_python_and_nodejs_packages(cli, publish):
    publish("deps", {**python_files(), **node_files()})

    document = json.loads(cli("layers", "sbom", "deps==1").stdout)

    assert document["bomFormat"] == "CycloneDX"
    assert document["metadata"]["component"]["name"] == "deps"
    purls = sorted(c["purl"].partition("@")[0] for c in document["components"])
    assert purls == [
        "pkg:npm/%40npmcli/fs",
        "pkg:npm/semver",
        "pkg:pypi/click",
        "pkg:pypi/rich",
        "pkg:pypi/urllib3",
    ]


def test_layers_sbom__is_the_document_the_console_serves(cli, publish, strata_server, account):
    response, _ = publish("deps", python_files(["click"]))
    cli("layers", "sbom", "deps", "-o", cli.cwd / "deps.cdx.json")
    from_client = json.loads((cli.cwd / "deps.cdx.json").read_text())

    visitor = Visitor(strata_server.url)
    visitor.sign_in(account.access_key_id, account.secret_access_key)
    served = visitor.get(
        f"/console/layers/{account.account_id}/deps/{response['Version']}/sbom.cdx.json"
    )
    assert served.headers["Content-Type"] == "application/vnd.cyclonedx+json"
    assert "attachment" in served.headers["Content-Disposition"]
    assert served.json() == from_client


def test_layers_sbom__of_a_missing_version_exits_not_found(cli, publish):
    publish("deps-missing", {"python/a.py": "A = 1\n"})
    assert "deps-missing==7" in cli("layers", "sbom", "deps-missing==7", expect=3).stderr
