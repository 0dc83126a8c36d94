"""The CycloneDX bill of materials of a layer version."""

from __future__ import annotations

from datetime import datetime, timezone

from registry.inventory.cyclonedx import bill_of_materials, purl
from registry.inventory.packages import NPM, PYPI, Package

ARN = "arn:aws:lambda:us-east-1:123456789012:layer:deps:3"
SHA = "ab" * 32


def _package(ecosystem, name, version="1.0", **extra) -> Package:
    fields = {"license": None, "summary": "", "requires": (), "path": f"x/{name}", **extra}
    return Package(ecosystem, name, version, **fields)


def test_purl__normalises_pypi_names_and_encodes_npm_scopes():
    assert (
        purl(_package(PYPI, "Typing_Extensions", "4.12.2")) == "pkg:pypi/typing-extensions@4.12.2"
    )
    assert purl(_package(NPM, "@npmcli/fs", "5.0.0")) == "pkg:npm/%40npmcli/fs@5.0.0"
    assert purl(_package(NPM, "semver", "")) == "pkg:npm/semver"


def test_document__describes_the_layer_and_each_package():
    packages = [
        _package(PYPI, "numpy", "1.26.4", license="BSD-3-Clause", summary="arrays"),
        _package(NPM, "semver", "7.6.0"),
    ]
    created = datetime(2024, 5, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    document = bill_of_materials(
        packages, layer_arn=ARN, name="deps", version=3, sha256=SHA, created=created
    )

    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.5"
    assert document["serialNumber"].startswith("urn:uuid:")
    assert document["metadata"]["timestamp"] == "2024-05-01T12:30:15Z"
    layer = document["metadata"]["component"]
    assert (layer["name"], layer["version"], layer["bom-ref"]) == ("deps", "3", ARN)
    assert layer["hashes"] == [{"alg": "SHA-256", "content": SHA}]
    numpy, semver = document["components"]
    assert numpy["purl"] == "pkg:pypi/numpy@1.26.4"
    assert numpy["licenses"] == [{"license": {"name": "BSD-3-Clause"}}]
    assert numpy["description"] == "arrays"
    assert "licenses" not in semver
    assert document["dependencies"] == [
        {"ref": ARN, "dependsOn": [numpy["bom-ref"], semver["bom-ref"]]}
    ]


def test_document__is_the_same_for_the_same_layer_version():
    def build():
        return bill_of_materials([], layer_arn=ARN, name="deps", version=3, sha256=SHA)

    assert build() == build()
    other = bill_of_materials([], layer_arn=ARN, name="deps", version=3, sha256="cd" * 32)
    assert other["serialNumber"] != build()["serialNumber"]
