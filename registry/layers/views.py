"""A layer version as the API shows it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from registry.archives import code_sha256
from registry.layers.arns import layer_arn, layer_version_arn


@dataclass(frozen=True)
class LayerVersionView:
    region: str
    account_id: str
    name: str
    version: int
    description: str
    license_info: str | None
    compatible_runtimes: list[str]
    compatible_architectures: list[str]
    digest: str
    code_size: int
    unzipped_size: int
    created_at: datetime
    row_id: int  # what functions reference, so a later delete does not break them

    @property
    def layer_arn(self) -> str:
        return layer_arn(self.region, self.account_id, self.name)

    @property
    def layer_version_arn(self) -> str:
        return layer_version_arn(self.region, self.account_id, self.name, self.version)

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.digest)


@dataclass(slots=True)
class LayerVersionSummary:
    """A layer version as ListLayers and ListLayerVersions show it. Not frozen: a page builds
    fifty of these, and a frozen dataclass's __init__ costs several times a plain one's."""

    layer_arn: str
    name: str
    version: int
    description: str
    license_info: str | None
    compatible_runtimes: list[str]
    compatible_architectures: list[str]
    created_at: datetime

    @property
    def layer_version_arn(self) -> str:
        return f"{self.layer_arn}:{self.version}"
