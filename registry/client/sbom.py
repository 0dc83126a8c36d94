"""`strata layers sbom`: a layer version's CycloneDX bill of materials, computed here from its
zip (downloaded from the signed Location GetLayerVersion returns and checked against its
CodeSha256), exactly as the server's console computes it."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path

from registry.archive.reader import Archive
from registry.client.download import fetch, make_pool
from registry.client.requirements import Requirement
from registry.client.resolve import Resolver
from registry.inventory.cyclonedx import bill_of_materials
from registry.inventory.packages import find_packages


def layer_sbom(client, req: Requirement) -> dict:
    layer = Resolver(client).resolve(req)
    with tempfile.TemporaryDirectory(prefix="strata-sbom-") as scratch:
        path = Path(scratch) / "layer.zip"
        fetch(
            layer.location,
            path,
            sha256=layer.sha256,
            size=layer.size if layer.size >= 0 else None,
            subject=req.describe(),
            pool=make_pool(1),
        )
        with Archive.open(path, name=layer.label) as archive:
            packages = find_packages(archive, archive.layout())
    return bill_of_materials(
        packages,
        layer_arn=layer.version_arn,
        # The bare name, whether the requirement named the layer by name, ACCOUNT/NAME or ARN.
        name=layer.version_arn.split(":")[6],
        version=layer.version,
        sha256=layer.sha256,
        created=_created(layer.response.get("CreatedDate")),
    )


def _created(value: str | None) -> datetime | None:
    """Lambda's CreatedDate (2024-01-31T12:00:00.000+0000)."""
    try:
        return datetime.strptime(value or "", "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
