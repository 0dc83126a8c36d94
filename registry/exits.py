"""Exit codes of the `strata` command, and the base of every error it reports with one.

The codes are documented in the README. Each error class carries its own `exit_code`;
`registry.cli` prints the message and exits with it, once for every subcommand. No imports:
the client, the merge engine and the server's domain all build on this.
"""

from __future__ import annotations

OK = 0
ERROR = 1
USAGE = 2
# install, download, lock, publish, layers
NOT_FOUND = 3
ACCESS_DENIED = 4
HASH_MISMATCH = 5
NETWORK = 6
TARGET = 7
# run (0 success and 2 usage error as above)
FUNCTION_ERROR = 1
TIMEOUT = 3
OUT_OF_MEMORY = 4
RUNTIME_CRASH = 5
SANDBOX_UNAVAILABLE = 6


class CommandError(Exception):
    """An error a user is shown: `message` on stderr, `exit_code` as the command's status."""

    exit_code = ERROR

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
