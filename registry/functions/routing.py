"""Weighted aliases: RoutingConfig.AdditionalVersionWeights sends a share of an alias's
invocations to one more published version, the rest to the version the alias points at.

The checks are Lambda's: one additional version at most, a weight between 0 and 1, both versions
published, distinct, and run with the same execution role.
"""

from __future__ import annotations

import random
import re

from registry.errors import ConstraintViolation, InvalidParameterValue
from registry.functions.names import LATEST

ADDITIONAL_VERSION = re.compile(r"[0-9]+")
MAX_ADDITIONAL_VERSIONS = 1
_WEIGHTS_FIELD = "routingConfig.additionalVersionWeights"


def parse(routing) -> dict[str, float] | None:
    """The AdditionalVersionWeights of a RoutingConfig, checked in shape and range. None when
    the alias routes to one version (no RoutingConfig, or an empty one)."""
    if routing is None:
        return None
    if not isinstance(routing, dict):
        raise InvalidParameterValue(
            "RoutingConfig must be an object with AdditionalVersionWeights."
        )
    weights = routing.get("AdditionalVersionWeights")
    if weights is None or weights == {}:
        return None
    if not isinstance(weights, dict):
        raise InvalidParameterValue("AdditionalVersionWeights must map a version to a weight.")
    if len(weights) > MAX_ADDITIONAL_VERSIONS:
        raise InvalidParameterValue(
            "Number of items in AdditionalVersionWeights cannot be greater than "
            f"{MAX_ADDITIONAL_VERSIONS}"
        )
    for version, weight in weights.items():
        shown = f"{{{version}={weight}}}"
        if not isinstance(version, str) or not ADDITIONAL_VERSION.fullmatch(version):
            raise _broken(
                shown,
                "Map keys must satisfy constraint: [Member must have length less than or equal "
                "to 1024, Member must have length greater than or equal to 1, Member must satisfy "
                "regular expression pattern: [0-9]+]",
            )
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
            raise _broken(
                shown,
                "Map value must satisfy constraint: [Member must have value less than or equal "
                "to 1.0, Member must have value greater than or equal to 0.0]",
            )
    return {version: float(weight) for version, weight in weights.items()}


def _broken(shown: str, constraint: str) -> ConstraintViolation:
    return ConstraintViolation(shown, _WEIGHTS_FIELD, constraint)


def check_targets(primary: str, weights: dict[str, float]) -> None:
    """Before the versions are looked up: the additional version is another published one."""
    for version in weights:
        if version == primary:
            raise InvalidParameterValue(
                f"Invalid function version {primary}. Function version {primary} is already "
                "included in routing configuration."
            )
    if primary == LATEST:
        raise InvalidParameterValue(
            "$LATEST is not supported for an alias pointing to more than 1 version"
        )


def check_same_role(primary_config: dict, additional_config: dict) -> None:
    if primary_config.get("role") != additional_config.get("role"):
        raise InvalidParameterValue(
            "Specified versions must be associated with the same execution role"
        )


def pick(primary: str, weights: dict[str, float] | None, draw=random.random) -> str:
    """The version one invocation through the alias runs."""
    for version, weight in (weights or {}).items():
        if draw() < weight:
            return version
    return primary
