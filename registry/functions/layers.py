"""Attaching layer versions to a function: at most five, each readable by the function's account
right now (the registry's sharing rules), compatible with its runtime and architecture, and all
together with the code within Lambda's 250 MB unzipped.

What is stored for each attached layer (id, ARN, digest, sizes) is enough to run it later even
after the layer version is deleted or unshared: it is resolved by row id, never looked up again.
"""

from __future__ import annotations

from registry.accounts import Caller
from registry.errors import InvalidParameterValue, ResourceNotFound
from registry.layers.arns import parse_layer_version_arn
from registry.layers.service import LayerService
from registry.limits import MAX_LAYERS, MAX_UNZIPPED_BYTES
from registry.messages import too_many_layers


def resolve(layers: LayerService, caller: Caller, arns, *, region: str) -> list[dict]:
    """The layer records to store for `arns`, in order."""
    if not isinstance(arns, list) or not all(isinstance(a, str) for a in arns):
        raise InvalidParameterValue("Layers must be a list of layer version ARNs.")
    if len(arns) > MAX_LAYERS:
        raise InvalidParameterValue(too_many_layers())
    records, seen = [], {}
    for arn in arns:
        ref, version = parse_layer_version_arn(arn, field="Layers")
        if arn.split(":")[3] != region:
            raise InvalidParameterValue(
                "Layers are not in the same region as the function. Layers are expected to be in "
                f"region {region}."
            )
        layer = (ref.account_id, ref.name)
        if layer in seen:
            raise InvalidParameterValue(
                "Two different versions of the same layer are not allowed to be referenced in the "
                f"same function. {seen[layer]} and {arn} are versions of the same layer."
            )
        seen[layer] = arn
        try:
            view = layers.get_version(caller, ref, version)  # raises unless readable now
        except ResourceNotFound:
            # A missing layer version is a bad parameter of the function, not a missing function.
            raise InvalidParameterValue(f"Layer version {arn} does not exist.") from None
        records.append(
            {
                "id": view.row_id,
                "arn": view.layer_version_arn,
                "digest": view.digest,
                "code_size": view.code_size,
                "unzipped_size": view.unzipped_size,
                "compatible_runtimes": view.compatible_runtimes,
                "compatible_architectures": view.compatible_architectures,
            }
        )
    return records


def check_compatible(records: list[dict], runtime: str, architecture: str) -> None:
    """Refuse a layer whose declared compatibilities exclude the function's; a layer that
    declares none is taken to fit everything, as Lambda does."""
    for record in records:
        runtimes = record.get("compatible_runtimes") or []
        if runtimes and runtime not in runtimes:
            raise InvalidParameterValue(
                f"Layer {record['arn']} is not compatible with runtime {runtime}: it declares "
                f"{', '.join(runtimes)}."
            )
        architectures = record.get("compatible_architectures") or []
        if architectures and architecture not in architectures:
            raise InvalidParameterValue(
                f"Layer {record['arn']} is not compatible with architecture {architecture}: it "
                f"declares {', '.join(architectures)}."
            )


def check_total_size(code_unzipped: int, records: list[dict]) -> None:
    total = code_unzipped + sum(record["unzipped_size"] for record in records)
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValue(
            "Function code combined with layers exceeds the maximum allowed size of "
            f"{MAX_UNZIPPED_BYTES} bytes. The actual size is {total} bytes."
        )
