"""Building and reading Lambda ARNs."""

from __future__ import annotations

from dataclasses import dataclass

from registry import validation
from registry.errors import InvalidParameterValue


def layer_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{account_id}:layer:{name}"


def layer_version_arn(region: str, account_id: str, name: str, version: int) -> str:
    return f"{layer_arn(region, account_id, name)}:{version}"


@dataclass(frozen=True)
class LayerRef:
    """A layer named by a caller: a plain name (the caller's own account) or a layer ARN."""

    name: str
    account_id: str | None  # None: the caller's account


def parse_layer_name(value: str) -> LayerRef:
    validation.check_layer_name(value)
    match = validation.LAYER_ARN.fullmatch(value)
    if match:
        return LayerRef(name=match.group(4), account_id=match.group(3))
    return LayerRef(name=value, account_id=None)


def parse_layer_version_arn(value: str, *, field: str = "Arn") -> tuple[LayerRef, int]:
    validation.check_length(field, value, 140, minimum=1)
    match = validation.LAYER_VERSION_ARN.fullmatch(value)
    if not match:
        raise InvalidParameterValue(
            f"{field} {value!r} is not a layer version ARN "
            "(arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)."
        )
    version = validation.check_version_number(match.group(5))
    return LayerRef(name=match.group(4), account_id=match.group(3)), version
