"""Item 2: nothing a function can read about itself names a host path.

The attacker's handler dumps what the kernel tells a process about its mounts, its command line,
its environment and its sandbox's pid 1, hoping to learn where bundles, the executor's work
directories and the interpreter live on the host (to aim other attacks at them).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from registry.executor.errors import InterpreterNotFound
from registry.executor.interpreters import find_python
from registry.invocations.bundles import bundle_key
from tests.support.functions import create, handler_zip, invoke

INTROSPECTING_HANDLER = """
import os, sys

SOURCES = ["/proc/self/mountinfo", "/proc/self/mounts", "/proc/self/mountstats",
           "/proc/self/environ", "/proc/self/cmdline", "/proc/self/maps", "/proc/1/cmdline",
           "/proc/1/environ", "/proc/1/mountinfo", "/proc/2/cmdline"]
LINKS = ["/proc/self/exe", "/proc/self/cwd", "/proc/self/root", "/proc/1/exe", "/proc/1/cwd"]


def handler(event, context):
    seen = {}
    for path in SOURCES:
        try:
            with open(path, "rb") as f:
                seen[path] = f.read().decode("utf-8", "replace")
        except OSError as exc:
            seen[path] = f"unreadable: {exc.strerror}"
    for path in LINKS + [f"/proc/self/fd/{fd}" for fd in os.listdir("/proc/self/fd")]:
        try:
            seen[path] = os.readlink(path)
        except OSError as exc:
            seen[path] = f"unreadable: {exc.strerror}"
    seen["sys"] = repr([sys.executable, sys.prefix, sys.path, dict(os.environ)])
    return seen
"""


def _private_interpreter_runtime() -> tuple[str, Path | None]:
    """A runtime whose interpreter lives outside /usr (a pyenv build) when the host has one:
    its installation path is one more thing that must not show."""
    for version in ("3.12", "3.13", "3.10"):
        try:
            interpreter = find_python(version)
        except InterpreterNotFound:
            continue
        if Path("/usr") not in interpreter.prefix.parents:
            return f"python{version}", interpreter.prefix
    return "python3.11", None


def test_sandbox_introspection__shows_no_host_path(strata_server, lam):
    runtime, prefix = _private_interpreter_runtime()
    code = handler_zip(INTROSPECTING_HANDLER)
    create(lam, "introspect", code, Runtime=runtime)

    response, seen = invoke(lam, "introspect")

    assert "FunctionError" not in response, seen
    data_dir = Path(strata_server.data_dir).resolve()
    forbidden = {
        "the data dir": str(data_dir),
        "the bundle's name": bundle_key(hashlib.sha256(code).hexdigest(), []),
        "the executor's work dir": "strata-executor-",
        "the server's temp dir": str(data_dir.parent),
    }
    if prefix is not None:
        forbidden["the interpreter's installation"] = str(prefix)
    leaks = {
        (what, source)
        for source, text in seen.items()
        for what, needle in forbidden.items()
        if needle in text
    }
    assert leaks == set()
    # The sandbox's mounts are there, under neutral names.
    mounts = [line.split()[4] for line in seen["/proc/self/mountinfo"].splitlines()]
    assert {"/var/task", "/var/runtime"} <= set(mounts)
    assert (
        Path(strata_server.data_dir)
        / "cache"
        / "functions"
        / "bundles"
        / bundle_key(hashlib.sha256(code).hexdigest(), [])
    ).is_dir()
