"""Domain views rendered as the JSON shapes of the Lambda API."""

from __future__ import annotations

from datetime import datetime, timezone

from registry.layers.views import LayerVersionSummary, LayerVersionView


def aws_timestamp(moment: datetime) -> str:
    """Lambda's format, e.g. 2018-11-27T15:10:45.123+0000."""
    # SQLite hands back naive values (stored as UTC); PostgreSQL's may carry another offset.
    if moment.utcoffset():
        moment = moment.astimezone(timezone.utc)
    # isoformat truncates to milliseconds as the format does, at a third of strftime's cost; its
    # first 23 characters leave out the offset.
    return moment.isoformat(timespec="milliseconds")[:23] + "+0000"


def layer_version(view: LayerVersionView, location: str) -> dict:
    body = {
        "Content": {
            "Location": location,
            "CodeSha256": view.code_sha256,
            "CodeSize": view.code_size,
        },
        "LayerArn": view.layer_arn,
        "LayerVersionArn": view.layer_version_arn,
        "Description": view.description,
        "CreatedDate": aws_timestamp(view.created_at),
        "Version": view.version,
        "CompatibleRuntimes": view.compatible_runtimes,
        "CompatibleArchitectures": view.compatible_architectures,
    }
    if view.license_info is not None:
        body["LicenseInfo"] = view.license_info
    return body


def layer_versions_item(view: LayerVersionView | LayerVersionSummary) -> dict:
    item = {
        "LayerVersionArn": view.layer_version_arn,
        "Version": view.version,
        "Description": view.description,
        "CreatedDate": aws_timestamp(view.created_at),
        "CompatibleRuntimes": view.compatible_runtimes,
        "CompatibleArchitectures": view.compatible_architectures,
    }
    if view.license_info is not None:
        item["LicenseInfo"] = view.license_info
    return item


def layers_item(view: LayerVersionView | LayerVersionSummary) -> dict:
    return {
        "LayerName": view.name,
        "LayerArn": view.layer_arn,
        "LatestMatchingVersion": layer_versions_item(view),
    }
