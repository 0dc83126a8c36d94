"""A function's configuration: the checks botocore leaves to the server, and the defaults.

The configuration is kept as one dict (stored as JSON on the function and on each version):
runtime, handler, role, description, timeout, memory_size, ephemeral_storage, environment,
architectures.
"""

from __future__ import annotations

import json
import re

from registry import validation
from registry.errors import InvalidParameterValue
from registry.executor.spec import RESERVED_ENV
from registry.limits import (
    DEFAULT_EPHEMERAL_MB,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    EPHEMERAL_MB,
    MEMORY_MB,
    TIMEOUT_S,
)

# The ranges are also the executor's: nothing is accepted here that Invoke could not run.
MAX_ENVIRONMENT_BYTES = 4096
DEFAULTS = {
    "description": "",
    "timeout": DEFAULT_TIMEOUT_S,
    "memory_size": DEFAULT_MEMORY_MB,
    "ephemeral_storage": DEFAULT_EPHEMERAL_MB,
    # None until Environment is given: Lambda shows the member only for a function given one,
    # even an empty one.
    "environment": None,
    "architectures": ["x86_64"],
}
ROLE_ARN = re.compile(r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+")
HANDLER = re.compile(r"[^\s]+")
ENV_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])+")


def check(changes: dict) -> dict:
    """Validate the given settings (any subset, keys as in DEFAULTS plus runtime, handler, role)."""
    checked = {}
    for key, value in changes.items():
        if value is None:
            continue
        checked[key] = _CHECKS[key](value)
    return checked


def _runtime(value) -> str:
    return validation.check_runtime(value, field="Runtime")


def _handler(value) -> str:
    validation.check_length("Handler", value, 128, minimum=1)
    if not HANDLER.fullmatch(value):
        raise InvalidParameterValue(
            f"Handler {value!r} is not valid: it may not contain whitespace."
        )
    return value


def _role(value) -> str:
    if not isinstance(value, str) or not ROLE_ARN.fullmatch(value):
        raise InvalidParameterValue(
            f"Role {value!r} is not valid: use an IAM role ARN, arn:aws:iam::ACCOUNT:role/NAME."
        )
    return value


def _description(value) -> str:
    return validation.check_length("Description", value, 256)


def _int_in(field: str, bounds: tuple[int, int], unit: str):
    def check_value(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidParameterValue(f"{field} must be a whole number.")
        if not bounds[0] <= value <= bounds[1]:
            raise InvalidParameterValue(
                f"{field} must be between {bounds[0]} and {bounds[1]} {unit}; got {value}."
            )
        return value

    return check_value


def _environment(value) -> dict:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidParameterValue("Environment.Variables must map names to string values.")
    # Reserved names first: _HANDLER and _X_AMZN_TRACE_ID would otherwise fail the name pattern.
    reserved = sorted(set(value) & RESERVED_ENV)
    if reserved:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys that are currently not supported "
            f"for modification. Reserved keys used in this request: {', '.join(reserved)}"
        )
    for name in value:
        if not ENV_NAME.fullmatch(name):
            raise InvalidParameterValue(
                f"Environment variable name {name!r} is not valid: start with a letter, then at "
                "least one letter, digit or underscore."
            )
    with_nul = sorted(name for name, text in value.items() if "\0" in text)
    if with_nul:
        raise InvalidParameterValue(
            "Environment variable values may not contain a NUL character; found in: "
            f"{', '.join(with_nul)}"
        )
    # Lambda measures the compact JSON of the variables, and quotes it back.
    measured = json.dumps(value, separators=(",", ":"))
    if len(measured.encode()) > MAX_ENVIRONMENT_BYTES:
        raise InvalidParameterValue(
            "Lambda was unable to configure your environment variables because the environment "
            "variables you have provided exceeded the 4KB limit. String measured: " + measured
        )
    return dict(value)


def _architectures(value) -> list[str]:
    if not isinstance(value, list) or len(value) != 1:
        raise InvalidParameterValue(
            "Architectures must list exactly one architecture: x86_64 or arm64."
        )
    return [validation.check_architecture(value[0], field="Architectures")]


_CHECKS = {
    "runtime": _runtime,
    "handler": _handler,
    "role": _role,
    "description": _description,
    "timeout": _int_in("Timeout", TIMEOUT_S, "seconds"),
    "memory_size": _int_in("MemorySize", MEMORY_MB, "MB"),
    "ephemeral_storage": _int_in("EphemeralStorage.Size", EPHEMERAL_MB, "MB"),
    "environment": _environment,
    "architectures": _architectures,
}
