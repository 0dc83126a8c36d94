"""What identifies a warm environment: the bundle, its handler and runtime, and its limits."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import InvalidParameterValue
from registry.limits import (
    DEFAULT_EPHEMERAL_MB,
    DEFAULT_ISOLATION,
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT_S,
    MAX_LAYERS,
    MEMORY_MB,
    TIMEOUT_S,
)
from registry.limits import EPHEMERAL_MB as TMP_MB

# Lambda's ranges. The Python API also accepts smaller memory and /tmp sizes so that limit tests
# stay fast; the CLI keeps Lambda's ranges.
_API_MEMORY_MIN_MB = 32
_API_TMP_MIN_MB = 8

ISOLATION_LEVELS = ("strict", "best-effort", "none")
PYTHON_RUNTIME = re.compile(r"python(3\.\d+)")
NODEJS_RUNTIME = re.compile(r"nodejs([1-9]\d*)\.x")
# The oldest Node.js major the built-in bootstrap runs (Lambda's oldest not yet deprecated).
NODEJS_MIN_MAJOR = 18
CUSTOM_RUNTIMES = frozenset({"provided", "provided.al2", "provided.al2023"})
_ENV_NAME = re.compile(r"[a-zA-Z]([a-zA-Z0-9_])*")
# Lambda reserves these; a function may not set them (AWS answers InvalidParameterValueException).
RESERVED_ENV = frozenset(
    [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    ]
)


class FrozenEnv(Mapping):
    """An immutable, hashable mapping of environment variables (so specs can key a pool)."""

    __slots__ = ("_dict", "_items")

    def __init__(self, items: Mapping[str, str] | None = None):
        self._dict = {str(k): str(v) for k, v in sorted((items or {}).items())}
        self._items = tuple(self._dict.items())

    def __getitem__(self, key):
        return self._dict[key]

    def __iter__(self):
        return iter(self._dict)

    def __len__(self):
        return len(self._items)

    def __hash__(self):
        return hash(self._items)

    def __eq__(self, other):
        if isinstance(other, FrozenEnv):
            return self._items == other._items
        return isinstance(other, Mapping) and self._dict == dict(other)

    def __repr__(self):
        return f"FrozenEnv({self._dict!r})"


@dataclass(frozen=True)
class FunctionSpec:
    """One function version as the executor runs it; equal specs share warm environments."""

    bundle_dir: Path
    handler: str
    runtime: str
    memory_mb: int = DEFAULT_MEMORY_MB
    tmp_mb: int = DEFAULT_EPHEMERAL_MB
    timeout_s: float = float(DEFAULT_TIMEOUT_S)
    env: Mapping[str, str] = field(default_factory=FrozenEnv)
    function_name: str = "function"
    function_version: str = "$LATEST"
    function_arn: str | None = None
    region: str = "us-east-1"
    isolation: str = DEFAULT_ISOLATION
    network: bool = False
    # Layer extraction directories, first to last (the last wins), to overlay at /opt instead of
    # the bundle's opt/: no copy at all. Needs root and bubblewrap (kernel overlayfs).
    opt_layers: tuple[Path, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "bundle_dir", Path(self.bundle_dir).resolve())
        object.__setattr__(self, "env", FrozenEnv(self.env))
        object.__setattr__(self, "opt_layers", tuple(Path(p).resolve() for p in self.opt_layers))
        self._check()

    def _check(self) -> None:
        if not (self.bundle_dir / "task").is_dir():
            raise InvalidParameterValue(f"bundle {self.bundle_dir} has no task/ directory")
        if not runnable(self.runtime):
            raise InvalidParameterValue(
                f"runtime {self.runtime!r} is not supported by the executor "
                f"(python3.N, nodejs{NODEJS_MIN_MAJOR}.x or newer, provided, provided.al2, "
                "provided.al2023)"
            )
        if not self.handler or len(self.handler) > 128:
            raise InvalidParameterValue("handler must be 1 to 128 characters")
        _in_range("memory_mb", self.memory_mb, _API_MEMORY_MIN_MB, MEMORY_MB[1])
        _in_range("tmp_mb", self.tmp_mb, _API_TMP_MIN_MB, TMP_MB[1])
        _in_range("timeout_s", self.timeout_s, 0.05, TIMEOUT_S[1])
        if self.isolation not in ISOLATION_LEVELS:
            raise InvalidParameterValue(
                f"isolation must be one of {', '.join(ISOLATION_LEVELS)}, not {self.isolation!r}"
            )
        if len(self.opt_layers) > MAX_LAYERS:
            raise InvalidParameterValue(f"a function can use at most {MAX_LAYERS} layers")
        for layer in self.opt_layers:
            if not layer.is_dir() or set(str(layer)) & {":", ",", "\n"}:
                raise InvalidParameterValue(
                    f"layer directory {layer} does not exist or has ':' or ',' in its path"
                )
        for name in self.env:
            if not _ENV_NAME.fullmatch(name):
                raise InvalidParameterValue(f"environment variable name {name!r} is not valid")
            if name in RESERVED_ENV:
                raise InvalidParameterValue(
                    f"environment variable {name} is reserved by Lambda and cannot be set"
                )
            if "\0" in self.env[name]:
                # No environment can hold it, and it would split the sandbox's NUL-separated
                # arguments.
                raise InvalidParameterValue(f"environment variable {name} contains a NUL character")

    @property
    def python_version(self) -> str | None:
        """'3.12' for python3.12, None for custom runtimes."""
        match = PYTHON_RUNTIME.fullmatch(self.runtime)
        return match.group(1) if match else None

    @property
    def node_major(self) -> int | None:
        """20 for nodejs20.x, None for other runtimes."""
        match = NODEJS_RUNTIME.fullmatch(self.runtime)
        return int(match.group(1)) if match else None

    @property
    def arn(self) -> str:
        if self.function_arn:
            return self.function_arn
        return f"arn:aws:lambda:{self.region}:000000000000:function:{self.function_name}"

    @property
    def account_id(self) -> str:
        """The account id in the function ARN (arn:aws:lambda:region:account:function:...)."""
        parts = self.arn.split(":")
        return parts[4] if len(parts) > 4 else ""


def runnable(runtime: str) -> bool:
    """Whether the executor has a way to run `runtime` (its interpreter may still be missing)."""
    if runtime in CUSTOM_RUNTIMES or PYTHON_RUNTIME.fullmatch(runtime):
        return True
    node = NODEJS_RUNTIME.fullmatch(runtime)
    return node is not None and int(node.group(1)) >= NODEJS_MIN_MAJOR


def _in_range(name: str, value: float, low: float, high: float) -> None:
    if not low <= value <= high:
        raise InvalidParameterValue(f"{name} must be between {low:g} and {high:g}, not {value}")
