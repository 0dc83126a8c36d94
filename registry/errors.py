"""Typed errors of the domain.

The domain raises these and knows nothing of HTTP; `registry.api.errors` holds the one table that
maps each class to an AWS error code and status. Messages are written for the user: they say what
was wrong and what to change. On the command line each ends the command with its `exit_code`.
"""

from __future__ import annotations

from registry.exits import CommandError


class StrataError(CommandError):
    """Base class: every error a user can be shown."""


class InvalidParameterValue(StrataError):
    """A parameter breaks a pattern, length, enum or limit."""


class ConstraintViolation(StrataError):
    """A value breaks a constraint of Lambda's model (a pattern, a length, a range). AWS checks
    these before the operation itself and answers with a validation error of its own."""

    def __init__(self, value, field: str, constraint: str):
        super().__init__(
            f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy "
            f"constraint: {constraint}"
        )


class ModelValidationError(StrataError):
    """Values of a request break constraints of Lambda's API model; AWS reports them all in one
    validation error."""

    def __init__(self, failures: list[str]):
        count = len(failures)
        noun = "error" if count == 1 else "errors"
        super().__init__(f"{count} validation {noun} detected: " + "; ".join(failures))
        self.failures = failures


class InvalidRequestContent(StrataError):
    """The request body is not valid JSON or has the wrong shape."""


class InvalidZip(InvalidParameterValue):
    """An archive is unreadable or unsafe (path escape, device entry, bomb, too large)."""

    def __init__(self, message: str, *, archive: str | None = None, entry: str | None = None):
        where = ""
        if archive and entry:
            where = f"{archive}: entry {entry!r}: "
        elif archive:
            where = f"{archive}: "
        elif entry:
            where = f"entry {entry!r}: "
        super().__init__(where + message)
        self.archive = archive
        self.entry = entry


class UnreservedConcurrencyBelowMinimum(InvalidParameterValue):
    """A reservation, provisioned concurrency or concurrency limit would leave the account fewer
    unreserved executions than Lambda keeps for the functions that reserve none."""

    def __init__(self, message: str, *, unreserved: int, minimum: int):
        super().__init__(message)
        self.unreserved = unreserved
        self.minimum = minimum


class ProvisionedOverReserved(InvalidParameterValue):
    """A function's provisioned concurrency, over all its versions and aliases, would pass its
    reserved concurrency."""

    def __init__(self, message: str, *, provisioned: int, reserved: int):
        super().__init__(message)
        self.provisioned = provisioned
        self.reserved = reserved


class MissingParameter(InvalidParameterValue):
    """A parameter the operation needs was not given."""


class InvalidParameterCombination(InvalidParameterValue):
    """Parameters valid each on its own ask together for what cannot be answered."""


class ResourceNotFound(StrataError):
    """The named resource does not exist (or is not visible to the caller)."""


class ProvisionedConcurrencyConfigNotFound(ResourceNotFound):
    """The version or alias has no provisioned concurrency setting (GetProvisionedConcurrencyConfig
    answers it with an error code of its own)."""


class AccessDenied(StrataError):
    """The resource exists but the caller's account may not use it."""


class ResourceConflict(StrataError):
    """The resource already exists, or another change is in progress."""


class PreconditionFailed(StrataError):
    """A RevisionId or CodeSha256 precondition does not hold."""


class RequestTooLarge(StrataError):
    """A payload is over its size limit."""


class CodeStorageExceeded(StrataError):
    """The account's total code storage would pass its quota."""


class PolicyLengthExceeded(StrataError):
    """A resource policy would grow past its size limit."""


class TooManyRequests(StrataError):
    """Throttled; the caller may retry."""

    reason: str | None = None  # Lambda's Reason field, when the throttle has one


class ConcurrentInvocationLimitExceeded(TooManyRequests):
    """The account (or this node) already runs as many executions as it may."""

    reason = "ConcurrentInvocationLimitExceeded"

    def __init__(self, message: str = "Rate Exceeded."):
        super().__init__(message)


class ReservedConcurrencyExceeded(TooManyRequests):
    """The function already runs as many executions as its reserved concurrency allows."""

    reason = "ReservedFunctionConcurrentInvocationLimitExceeded"

    def __init__(self, message: str = "Rate Exceeded."):
        super().__init__(message)


class ServiceUnavailable(StrataError):
    """A dependency (database, blob storage, sandbox) failed; retrying may help."""


class SecretsUnreadable(ServiceUnavailable):
    """A stored access-key secret does not open with the configured secret key."""


class AuthError(StrataError):
    """The request is not authenticated."""


class MissingAuthenticationToken(AuthError):
    pass


class UnrecognizedClient(AuthError):
    """The access key id is unknown."""


class InvalidSignature(AuthError):
    """The signature does not match, or the request time is outside the allowed window."""
