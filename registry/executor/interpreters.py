"""Finds the host interpreter for a python3.N or nodejsN.x runtime.

Always an absolute path to a real interpreter: a version-manager shim would add a slow start-up
to every cold start and does not work inside the sandbox. A missing interpreter is an error, never
a silent substitution by another version.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
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


# ---- Node.js ---------------------------------------------------------------------------------

_NODE_NAMES = ("node", "nodejs")  # Debian once named it nodejs


def node_env_name(major: int) -> str:
    """STRATA_NODEJS_20 for 20."""
    return f"STRATA_NODEJS_{major}"


def find_node(major: int, environ: Mapping[str, str] | None = None) -> Interpreter:
    """A node of exactly `major`: the configured one, else the host's, else the newest of that
    major under nvm, fnm, n or volta. A node's name says nothing of its version, so each
    candidate is asked (once per binary)."""
    environ = os.environ if environ is None else environ
    configured = environ.get(node_env_name(major))
    if configured:
        path = Path(configured)
        if not path.is_absolute() or not os.access(path, os.X_OK) or path.is_dir():
            raise InterpreterNotFound(
                f"{node_env_name(major)}={configured} is not an absolute path to an executable"
            )
        found = node_version(path.resolve())
        if found is None or found[0] != major:
            raise InterpreterNotFound(
                f"{node_env_name(major)}={configured} is "
                f"{'not a Node.js interpreter' if found is None else _dotted(found)}, "
                f"not Node.js {major}",
                wanted=f"Node.js {major}",
            )
        return _node_interpreter(path)
    host_found, seen = [], set()
    for directory in _SEARCH_DIRS:
        for name in _NODE_NAMES:
            candidate = Path(directory) / name
            if os.access(candidate, os.X_OK) and candidate.resolve() not in seen:
                seen.add(candidate.resolve())
                version = node_version(candidate.resolve())
                if version is not None and version[0] == major:
                    return _node_interpreter(candidate)
                if version is not None:
                    host_found.append(f"{candidate} is {_dotted(version)}")
    managed = _managed_node(major, environ)
    if managed is not None:
        return _node_interpreter(managed)
    seen = f" ({'; '.join(host_found)})" if host_found else ""
    raise InterpreterNotFound(
        f"no Node.js {major} interpreter (node v{major}.x) found on this host{seen}: looked in "
        f"{', '.join(_SEARCH_DIRS)} and the nvm, fnm, n and volta version directories; install "
        f"it or set {node_env_name(major)}=/absolute/path/to/node",
        wanted=f"Node.js {major}",
    )


def _managed_node(major: int, environ: Mapping[str, str]) -> Path | None:
    """The newest `major` a version manager installed, by its real binary (never a shim)."""
    home = Path(environ.get("HOME") or Path.home())
    roots = [
        (Path(environ.get("NVM_DIR") or home / ".nvm") / "versions" / "node", "bin/node"),
        (Path(environ.get("N_PREFIX") or "/usr/local") / "n" / "versions" / "node", "bin/node"),
        (Path(environ.get("VOLTA_HOME") or home / ".volta") / "tools/image/node", "bin/node"),
    ]
    fnm_dirs = [environ.get("FNM_DIR"), home / ".local/share/fnm", home / ".fnm"]
    roots += [(Path(d) / "node-versions", "installation/bin/node") for d in fnm_dirs if d]
    pattern = re.compile(rf"v?{major}\.(\d+)\.(\d+)")
    found = []
    for root, binary in roots:
        if not root.is_dir():
            continue
        for entry in root.iterdir():
            match = pattern.fullmatch(entry.name)
            if match and os.access(entry / binary, os.X_OK):
                found.append((int(match.group(1)), int(match.group(2)), entry / binary))
    return max(found)[2] if found else None


def _node_interpreter(path: Path) -> Interpreter:
    real = path.resolve()
    if "shims" in real.parts:
        raise InterpreterNotFound(f"{path} is a version-manager shim; give the real interpreter")
    return Interpreter(path=real, prefix=real.parent.parent)


def node_version(path: Path) -> tuple[int, int, int] | None:
    """(major, minor, patch) of the node at `path`, None when it is not one."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _node_version(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _node_version(path: str, _mtime_ns: int, _size: int) -> tuple[int, int, int] | None:
    try:
        answer = subprocess.run(
            [path, "--version"],
            capture_output=True,
            timeout=10,
            env={"PATH": os.defpath},
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(rb"v(\d+)\.(\d+)\.(\d+)\s*", answer.stdout)
    if answer.returncode != 0 or match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


def _dotted(version: tuple[int, int, int]) -> str:
    return "Node.js " + ".".join(map(str, version))
