"""The domain's own checks of names, lengths, runtimes and architectures, for every caller (the
`strata` commands as well as the API); each failure raises InvalidParameterValue with a message
that says what to fix.

Over HTTP the request has already met the Lambda API model's constraints (registry/api/model),
which AWS answers first with a ValidationException; what is left here for API requests is what
the model allows and Strata does not (a runtime it cannot run, a name longer than a function's).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from registry.errors import InvalidParameterValue
from registry.messages import not_a_string, not_a_string_list

RUNTIMES = frozenset(
    [
        "nodejs",
        "nodejs4.3",
        "nodejs6.10",
        "nodejs8.10",
        "nodejs10.x",
        "nodejs12.x",
        "nodejs14.x",
        "nodejs16.x",
        "java8",
        "java8.al2",
        "java11",
        "python2.7",
        "python3.6",
        "python3.7",
        "python3.8",
        "python3.9",
        "dotnetcore1.0",
        "dotnetcore2.0",
        "dotnetcore2.1",
        "dotnetcore3.1",
        "dotnet6",
        "dotnet8",
        "nodejs4.3-edge",
        "go1.x",
        "ruby2.5",
        "ruby2.7",
        "provided",
        "provided.al2",
        "nodejs18.x",
        "python3.10",
        "java17",
        "ruby3.2",
        "ruby3.3",
        "ruby3.4",
        "python3.11",
        "nodejs20.x",
        "provided.al2023",
        "python3.12",
        "java21",
        "python3.13",
        "nodejs22.x",
        "nodejs24.x",
        "python3.14",
        "java25",
        "dotnet10",
        "ruby4.0",
    ]
)
ARCHITECTURES = frozenset({"x86_64", "arm64"})

LAYER_NAME = re.compile(
    r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+)|[a-zA-Z0-9-_]+"
)
LAYER_ARN = re.compile(
    r"arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+)"
)
LAYER_VERSION_ARN = re.compile(
    r"arn:([a-zA-Z0-9-]+):lambda:([a-zA-Z0-9-]+):(\d{12}):layer:([a-zA-Z0-9-_]+):([0-9]+)"
)
STATEMENT_ID = re.compile(r"[a-zA-Z0-9-_]+")
PRINCIPAL = re.compile(r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root")
ORGANIZATION_ID = re.compile(r"o-[a-z0-9]{10,32}")
ACCOUNT_ID = re.compile(r"\d{12}")

# Version numbers are stored as 32-bit integers (INTEGER on PostgreSQL): a larger number can name
# no version, and must not reach a query, where PostgreSQL would refuse it.
MAX_VERSION_NUMBER = 2**31 - 1


def check_length(field: str, value: str, maximum: int, minimum: int = 0) -> str:
    if not isinstance(value, str):
        raise InvalidParameterValue(not_a_string(field))
    if not minimum <= len(value) <= maximum:
        raise InvalidParameterValue(
            f"{field} must be between {minimum} and {maximum} characters long; got {len(value)}."
        )
    return value


def check_pattern(field: str, value: str, pattern: re.Pattern, maximum: int, hint: str) -> str:
    check_length(field, value, maximum, minimum=1)
    if not pattern.fullmatch(value):
        raise InvalidParameterValue(f"{field} {value!r} is not valid: {hint}.")
    return value


def check_layer_name(value: str) -> str:
    return check_pattern(
        "LayerName",
        value,
        LAYER_NAME,
        140,
        "use letters, digits, hyphens and underscores, or a layer ARN",
    )


def check_version_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidParameterValue(f"VersionNumber {value!r} is not a whole number.") from None
    if number < 1:
        raise InvalidParameterValue("Layer Version Cannot be less than 1")
    if number > MAX_VERSION_NUMBER:
        raise InvalidParameterValue(
            f"VersionNumber must be between 1 and {MAX_VERSION_NUMBER}; got {str(number)[:40]}."
        )
    return number


def check_runtimes(values: Iterable[str] | None, *, field="CompatibleRuntimes") -> list[str]:
    values = _string_list(field, values, maximum=15)
    for value in values:
        check_runtime(value, field=field)
    return _unique(values)


def check_runtime(value: str, *, field="CompatibleRuntime") -> str:
    if value not in RUNTIMES:
        raise InvalidParameterValue(
            f"{field} {value!r} is not a Lambda runtime; use one of: {', '.join(sorted(RUNTIMES))}."
        )
    return value


def check_architectures(values, *, field="CompatibleArchitectures") -> list[str]:
    values = _string_list(field, values, maximum=2)
    for value in values:
        check_architecture(value, field=field)
    return _unique(values)


def check_architecture(value: str, *, field="CompatibleArchitecture") -> str:
    if value not in ARCHITECTURES:
        raise InvalidParameterValue(f"{field} {value!r} is not valid; use x86_64 or arm64.")
    return value


def check_statement_id(value: str) -> str:
    return check_pattern(
        "StatementId", value, STATEMENT_ID, 100, "use letters, digits, hyphens and underscores"
    )


def check_principal(value: str) -> str:
    return check_pattern(
        "Principal",
        value,
        PRINCIPAL,
        256,
        "use a 12-digit account id, '*', or arn:aws:iam::ACCOUNT:root",
    )


def check_organization_id(value: str) -> str:
    return check_pattern(
        "OrganizationId",
        value,
        ORGANIZATION_ID,
        34,
        "use o- followed by 10 to 32 lowercase letters or digits",
    )


def check_account_id(value: str) -> str:
    return check_pattern("AccountId", value, ACCOUNT_ID, 12, "use exactly 12 digits")


def _string_list(field: str, values, *, maximum: int) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise InvalidParameterValue(not_a_string_list(field))
    if len(values) > maximum:
        raise InvalidParameterValue(
            f"{field} may list at most {maximum} values; got {len(values)}."
        )
    return values


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
