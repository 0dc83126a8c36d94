"""Errors of the executor: the host cannot provide what a run needs."""

from __future__ import annotations

from registry import exits
from registry.errors import InvalidParameterValue, ServiceUnavailable


class SandboxError(ServiceUnavailable):
    """The sandbox could not be built or started (bubblewrap, cgroups, mounts, interpreter)."""

    exit_code = exits.SANDBOX_UNAVAILABLE


class RuntimeEnded(SandboxError):
    """The runtime exited after answering its last invocation, before taking the next one (as
    Node.js runtimes do after an uncaught exception): that one is run by a fresh environment."""


class IsolationUnavailable(SandboxError):
    """Strict isolation was asked for, but the host cannot enforce every limit hard."""

    def __init__(self, missing: dict[str, str]):
        detail = "; ".join(f"{limit}: {why}" for limit, why in sorted(missing.items()))
        super().__init__(f"strict isolation is not available on this host ({detail})")
        self.missing = dict(missing)

    @property
    def client_message(self) -> str:
        """Which limits are missing, without the host detail of why (that goes to the log)."""
        missing = ", ".join(sorted(self.missing))
        return f"strict isolation is not available on this host (missing: {missing})"


class InterpreterNotFound(InvalidParameterValue):
    """No host interpreter is configured or installed for the function's runtime."""

    exit_code = exits.USAGE  # `strata run`: the runtime given (or in bundle.json) is the mistake

    # The detail (directories searched, the operator's settings) is for the server log.
    client_message = (
        "This server has no interpreter for the function's runtime; choose another runtime or ask "
        "the server's operator to install it"
    )
