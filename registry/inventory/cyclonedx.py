"""A layer version's software bill of materials as a CycloneDX 1.5 JSON document: the layer as
the described component, each package it installs as a library with its package URL."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

from registry.inventory.packages import NPM, PYPI, Package

SPEC_VERSION = "1.5"


def bill_of_materials(
    packages: list[Package],
    *,
    layer_arn: str,
    name: str,
    version: int,
    sha256: str,
    created: datetime | None = None,
) -> dict:
    """`sha256` is the zip's lowercase hex digest. The same layer version always gives the same
    document, whoever builds it (its serial number derives from ARN and digest, its timestamp is
    the version's creation to the second)."""
    components, refs = [], []
    for package in packages:
        ref = f"{purl(package)}#{package.path}"
        refs.append(ref)
        component = {
            "type": "library",
            "bom-ref": ref,
            "name": package.name,
            "version": package.version,
            "purl": purl(package),
            "properties": [{"name": "strata:path", "value": package.path}],
        }
        if package.summary:
            component["description"] = package.summary
        if package.license:
            component["licenses"] = [{"license": {"name": package.license}}]
        components.append(component)
    metadata = {
        "tools": {"components": [{"type": "application", "name": "strata"}]},
        "component": {
            "type": "library",
            "bom-ref": layer_arn,
            "name": name,
            "version": str(version),
            "hashes": [{"alg": "SHA-256", "content": sha256}],
        },
    }
    if created is not None:
        metadata["timestamp"] = created.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{layer_arn}#{sha256}')}",
        "version": 1,
        "metadata": metadata,
        "components": components,
        "dependencies": [{"ref": layer_arn, "dependsOn": refs}],
    }


def purl(package: Package) -> str:
    """The package URL (https://github.com/package-url/purl-spec) of a package."""
    version = quote(package.version, safe="") if package.version else ""
    at = f"@{version}" if version else ""
    if package.ecosystem == PYPI:
        # PyPI names are compared normalised (PEP 503), and purl writes them so.
        return f"pkg:pypi/{re.sub(r'[-_.]+', '-', package.name).lower()}{at}"
    if package.ecosystem == NPM:
        scope, _, bare = package.name.rpartition("/")
        namespace = f"{quote(scope, safe='')}/" if scope else ""
        return f"pkg:npm/{namespace}{quote(bare, safe='')}{at}"
    raise ValueError(f"no package URL type for {package.ecosystem!r}")
