"""Error texts raised from more than one place, written once so that they read alike everywhere."""

from __future__ import annotations

from registry.limits import MAX_LAYERS

REVISION_MISMATCH = (
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id"
)


def not_authorized(account_id: str, action: str, arn: str, why: str) -> str:
    """AccessDenied as AWS words it, with why the account may not (in parentheses)."""
    return (
        f"User: arn:aws:iam::{account_id}:root is not authorized to perform: {action} "
        f"on resource: {arn} ({why})"
    )


def function_not_found(arn: str) -> str:
    return f"Function not found: {arn}"


def alias_not_found(arn: str) -> str:
    return f"Cannot find alias arn: {arn}"


def too_many_layers() -> str:
    return f"Cannot reference more than {MAX_LAYERS} layers."


def payload_too_large(limit: int, operation: str) -> str:
    return f"Request must be smaller than {limit} bytes for the {operation} operation"


def not_a_string(field: str) -> str:
    return f"{field} must be a string."


def not_a_string_list(field: str) -> str:
    return f"{field} must be a list of strings."
