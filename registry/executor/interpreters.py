"""Finds the host interpreter for a python3.N runtime.

Always an absolute path to a real interpreter: a version-manager shim would add a slow start-up
to every cold start and does not work inside the sandbox. A missing interpreter is an error, never
a silent substitution by another version.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from registry.executor.errors import InterpreterNotFound

_SEARCH_DIRS = ("/usr/bin", "/usr/local/bin")


@dataclass(frozen=True)
class Interpreter:
    path: Path  # absolute, symlinks resolved
    prefix: Path  # the installation tree the sandbox must see (bin/, lib/)


def env_name(version: str) -> str:
    """STRATA_PYTHON_3_12 for '3.12'."""
    return "STRATA_PYTHON_" + version.replace(".", "_")


def find_python(version: str, environ: Mapping[str, str] | None = None) -> Interpreter:
    environ = os.environ if environ is None else environ
    configured = environ.get(env_name(version))
    if configured:
        path = Path(configured)
        if not path.is_absolute() or not os.access(path, os.X_OK):
            raise InterpreterNotFound(
                f"{env_name(version)}={configured} is not an absolute path to an executable"
            )
        return _interpreter(path, version)
    for directory in _SEARCH_DIRS:
        candidate = Path(directory) / f"python{version}"
        if os.access(candidate, os.X_OK):
            return _interpreter(candidate, version)
    pyenv = _pyenv_candidate(version, environ)
    if pyenv is not None:
        return _interpreter(pyenv, version)
    raise InterpreterNotFound(
        f"no python{version} interpreter found on this host (looked in "
        f"{', '.join(_SEARCH_DIRS)} and pyenv versions); install it or set "
        f"{env_name(version)}=/absolute/path/to/python{version}"
    )


def _pyenv_candidate(version: str, environ: Mapping[str, str]) -> Path | None:
    root = Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    if not root.is_dir():
        return None
    pattern = re.compile(re.escape(version) + r"\.(\d+)")
    found = []
    for entry in root.iterdir():
        match = pattern.fullmatch(entry.name)
        binary = entry / "bin" / f"python{version}"
        if match and os.access(binary, os.X_OK):
            found.append((int(match.group(1)), binary))
    return max(found)[1] if found else None


def _interpreter(path: Path, version: str) -> Interpreter:
    real = path.resolve()
    if "shims" in real.parts:
        raise InterpreterNotFound(f"{path} is a version-manager shim; give the real interpreter")
    if not re.fullmatch(r"python3(\.\d+)?", real.name):
        raise InterpreterNotFound(f"{path} does not look like a python3 interpreter")
    return Interpreter(path=real, prefix=real.parent.parent)
