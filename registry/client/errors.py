"""Client errors, each with the exit code the CLI returns for it.

Messages name the requirement (or file) involved and say what to change.
"""

from __future__ import annotations

from registry.errors import StrataError

# Documented in the README; the CLI maps every ClientError through `exit_code`.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_ACCESS_DENIED = 4
EXIT_HASH_MISMATCH = 5
EXIT_NETWORK = 6
EXIT_TARGET = 7


class ClientError(StrataError):
    exit_code = EXIT_ERROR


class RequirementError(ClientError):
    """A requirement or requirements file cannot be parsed, or breaks --require-hashes."""

    exit_code = EXIT_USAGE


class LayerNotFound(ClientError):
    """No such layer, or no version matches the specifier and filters."""

    exit_code = EXIT_NOT_FOUND


class AccessDenied(ClientError):
    """The layer exists (or may exist) but is not shared with the caller, or credentials are bad."""

    exit_code = EXIT_ACCESS_DENIED


class HashMismatch(ClientError):
    """Downloaded or cached bytes do not match CodeSha256 or a --hash."""

    exit_code = EXIT_HASH_MISMATCH


class NetworkError(ClientError):
    """The Lambda endpoint or a download location could not be reached, even after retries."""

    exit_code = EXIT_NETWORK


class TargetError(ClientError):
    """The target or cache directory cannot be written, or the layers cannot be merged there."""

    exit_code = EXIT_TARGET
