"""`strata layers`: read-only views of layers and versions through the Lambda API."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError
from botocore.exceptions import ClientError as BotoClientError

from registry.client.requirements import Requirement
from registry.client.resolve import Filters, Resolver, translate_error


def list_layers(client, *, runtime: str | None = None, arch: str | None = None) -> list[dict]:
    kwargs = {
        k: v for k, v in {"CompatibleRuntime": runtime, "CompatibleArchitecture": arch}.items() if v
    }
    items, marker = [], None
    try:
        while True:
            page = client.list_layers(**kwargs, **({"Marker": marker} if marker else {}))
            items.extend(page.get("Layers") or [])
            marker = page.get("NextMarker")
            if not marker:
                break
    except (BotoClientError, BotoCoreError) as exc:
        raise translate_error(exc, "listing layers") from None
    filters = Filters(runtime, arch)
    return sorted(
        (i for i in items if filters.accepts(i.get("LatestMatchingVersion") or {})),
        key=lambda i: i.get("LayerName", ""),
    )


def list_versions(
    client, req: Requirement, *, runtime: str | None = None, arch: str | None = None
) -> list[dict]:
    items = Resolver(client, Filters(runtime, arch)).versions(req)
    return sorted(items, key=lambda i: -int(i["Version"]))


def show_version(client, req: Requirement) -> dict:
    layer = Resolver(client).resolve(req)
    detail = layer.response
    return {
        "LayerVersionArn": layer.version_arn,
        "Version": layer.version,
        "Description": detail.get("Description", ""),
        "CreatedDate": detail.get("CreatedDate", ""),
        "CompatibleRuntimes": detail.get("CompatibleRuntimes") or [],
        "CompatibleArchitectures": detail.get("CompatibleArchitectures") or [],
        "LicenseInfo": detail.get("LicenseInfo", ""),
        "CodeSize": layer.size,
        "CodeSha256": (detail.get("Content") or {}).get("CodeSha256", ""),
        "sha256": layer.sha256,
    }
