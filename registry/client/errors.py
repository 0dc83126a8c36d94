"""Client errors, each with the exit code the `strata` command ends with for it.

Messages name the requirement (or file) involved and say what to change. The client's errors are
its own, apart from the server's domain errors, and share only the exit-code base with them.
"""

from __future__ import annotations

from registry import exits


class ClientError(exits.CommandError):
    exit_code = exits.ERROR


class RequirementError(ClientError):
    """A requirement or requirements file cannot be parsed, or breaks --require-hashes."""

    exit_code = exits.USAGE


class LayerNotFound(ClientError):
    """No such layer, or no version matches the specifier and filters."""

    exit_code = exits.NOT_FOUND


class AccessDenied(ClientError):
    """The layer exists (or may exist) but is not shared with the caller, or credentials are bad."""

    exit_code = exits.ACCESS_DENIED


class HashMismatch(ClientError):
    """Downloaded or cached bytes do not match CodeSha256 or a --hash."""

    exit_code = exits.HASH_MISMATCH


class NetworkError(ClientError):
    """The Lambda endpoint or a download location could not be reached, even after retries."""

    exit_code = exits.NETWORK


class TargetError(ClientError):
    """The target or cache directory cannot be written, or the layers cannot be merged there."""

    exit_code = exits.TARGET
