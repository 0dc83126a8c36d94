"""Errors of the executor: the host cannot provide what a run needs."""

from __future__ import annotations

from registry import exits
from registry.errors import InvalidParameterValue, ServiceUnavailable


class SandboxError(ServiceUnavailable):
    """The sandbox could not be built or started (bubblewrap, cgroups, mounts, interpreter)."""

    exit_code = exits.SANDBOX_UNAVAILABLE


class InitFailed(SandboxError):
    """A provisioned environment's initialisation failed: the function's own error (or its init
    timing out), not the host's."""


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

    def __init__(self, message: str, wanted: str | None = None):
        super().__init__(message)
        self.wanted = wanted  # e.g. "Node.js 18": which interpreter, without any host path

    @property
    def client_message(self) -> str:
        """The detail (directories searched, the operator's settings) is for the server log."""
        which = f"no {self.wanted} interpreter" if self.wanted else "no interpreter"
        return (
            f"This server has {which} for the function's runtime; choose another runtime or ask "
            "the server's operator to install it"
        )
