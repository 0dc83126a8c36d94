"""The errors CloudWatch Logs answers with, as typed domain errors."""

from __future__ import annotations

from registry.errors import (
    InvalidParameterValue,
    ResourceConflict,
    ResourceNotFound,
    StrataError,
)


class LogResourceNotFound(ResourceNotFound):
    """A log group or stream the caller's account does not have."""


class LogResourceAlreadyExists(ResourceConflict):
    """CreateLogGroup of a name the account already has."""


class LogInvalidParameter(InvalidParameterValue):
    """A parameter CloudWatch Logs would refuse (a name, a limit, a token, a pattern)."""


class LogLimitExceeded(StrataError):
    """An account already has as many log groups as it may make."""
