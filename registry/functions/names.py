"""FunctionName and Qualifier as the Lambda API accepts them, and the function ARNs it answers with.

A FunctionName is a name (`my-fn`), a partial ARN (`123456789012:function:my-fn`) or a full ARN,
each optionally ending in `:QUALIFIER` (a version number, `$LATEST` or an alias name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from registry.errors import (
    AccessDenied,
    ConstraintViolation,
    InvalidParameterValue,
    ResourceNotFound,
)
from registry.messages import not_authorized
from registry.validation import MAX_VERSION_NUMBER

LATEST = "$LATEST"
MAX_NAME = 64
_NAME = r"(?P<name>[a-zA-Z0-9-_]+)"
_QUALIFIER = r"(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
_FULL = re.compile(
    r"arn:(?:aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):"
    r"(?P<account>\d{12}):function:" + _NAME + _QUALIFIER
)
_PARTIAL = re.compile(r"(?P<account>\d{12}):function:" + _NAME + _QUALIFIER)
_PLAIN = re.compile(_NAME + _QUALIFIER)
# The model's pattern for a function qualifier; one that fits it and names nothing is not found.
QUALIFIER_PATTERN = r"\$(LATEST(\.PUBLISHED)?)|[a-zA-Z0-9-_$]+"
QUALIFIER = re.compile(QUALIFIER_PATTERN)
MAX_QUALIFIER = 128
VERSION = re.compile(r"[0-9]+")
MAX_VERSION = MAX_VERSION_NUMBER
ALIAS = re.compile(r"(?!^[0-9]+$)([a-zA-Z0-9-_]+)")


@dataclass(frozen=True)
class FunctionRef:
    name: str
    account_id: str | None  # None: the caller's own account
    qualifier: str | None  # None: unqualified


def parse_function_name(value, qualifier: str | None = None, *, region: str) -> FunctionRef:
    """Parse a FunctionName, merging a separate Qualifier parameter (they must agree)."""
    if not isinstance(value, str) or not 1 <= len(value) <= 256:
        raise InvalidParameterValue("FunctionName must be 1 to 256 characters.")
    match = _FULL.fullmatch(value) or _PARTIAL.fullmatch(value) or _PLAIN.fullmatch(value)
    if match is None:
        raise InvalidParameterValue(
            f"FunctionName {value!r} is not valid: use a name (letters, digits, hyphens, "
            "underscores), ACCOUNT:function:NAME, or arn:aws:lambda:REGION:ACCOUNT:function:NAME, "
            "optionally followed by :QUALIFIER."
        )
    groups = match.groupdict()
    if groups.get("region") not in (None, region):
        raise ResourceNotFound(
            f"Functions from '{groups['region']}' are not reachable in this region ('{region}')"
        )
    if len(groups["name"]) > MAX_NAME:
        raise InvalidParameterValue(f"A function name may be at most {MAX_NAME} characters long.")
    derived = groups.get("qualifier")
    if derived is not None:
        check_qualifier(derived)
    if qualifier is not None:
        check_qualifier(qualifier)
        if derived is not None and derived != qualifier:
            raise InvalidParameterValue(
                "The derived qualifier from the function name does not match the specified "
                "qualifier."
            )
    return FunctionRef(groups["name"], groups.get("account"), derived or qualifier)


def check_qualifier(value: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_QUALIFIER:
        raise ConstraintViolation(
            value, "qualifier", f"Member must have length less than or equal to {MAX_QUALIFIER}"
        )
    if not QUALIFIER.fullmatch(value):
        raise ConstraintViolation(
            value,
            "qualifier",
            f"Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
        )
    if VERSION.fullmatch(value):
        check_version(value, "Qualifier")
    return value


def check_version(value: str, field: str = "FunctionVersion") -> str:
    """A published version number as a string, within the range versions can have."""
    if not VERSION.fullmatch(value) or int(value) > MAX_VERSION:
        raise InvalidParameterValue(
            f"{field} {value[:40]!r} is not valid: a version number is at most {MAX_VERSION}."
        )
    return value


def check_alias_name(value) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128 or not ALIAS.fullmatch(value):
        raise InvalidParameterValue(
            f"Alias name {value!r} is not valid: use 1 to 128 letters, digits, hyphens or "
            "underscores, not only digits."
        )
    return value


def require_own(ref: FunctionRef, caller_account: str, action: str, arn: str) -> None:
    """Functions are private to their account: there are no function resource policies."""
    if ref.account_id not in (None, caller_account):
        raise AccessDenied(
            not_authorized(
                caller_account, action, arn, "functions can only be used by their own account"
            )
        )


def function_arn(region: str, account_id: str, name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn
