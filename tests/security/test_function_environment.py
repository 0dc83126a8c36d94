"""Item 1: a function's Environment.Variables exist only inside its sandbox.

The attacker creates a function whose bundle carries a shared library and a script, and whose
variables point the loader and the shells at them by their host path (computable in advance: the
bundle directory is named after the code's digest). Any process of the launch chain that ran
with them as root would leave a marker file in a directory only root can write.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import zipfile
from pathlib import Path

import botocore.exceptions
import pytest

from registry.executor import EnvironmentPool, FunctionSpec, HostCapabilities
from registry.invocations.bundles import bundle_key
from tests.support import require_service
from tests.support.functions import create, invoke
from tests.support.zips import make_zip

PRELOAD_SOURCE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void planted(void) {
    char comm[64] = "?", path[4096];
    FILE *f = fopen("/proc/self/comm", "r");
    if (f) { if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0; fclose(f); }
    snprintf(path, sizeof path, "%s/preload-uid%d-%s-%d",
             MARKERS, (int)getuid(), comm, (int)getpid());
    f = fopen(path, "w");
    if (f) fclose(f);
    setenv("PLANTED_LIBRARY_RAN", "yes", 1);
}
"""

HANDLER = """
import os, subprocess

def handler(event, context):
    child = subprocess.run(["/bin/sh", "-c", 'echo "$PLANTED_LIBRARY_RAN"'],
                           capture_output=True, text=True)
    return {"runtime": os.environ.get("PLANTED_LIBRARY_RAN"), "child": child.stdout.strip(),
            "preload": os.environ.get("LD_PRELOAD")}
"""


def _shell_marker(markers: Path, name: str) -> str:
    return (
        f"#!/bin/sh\n/usr/bin/touch {markers}/{name}-$(/usr/bin/id -u) 2>/dev/null\n"
        f'exec /usr/bin/{name} "$@"\n'
    )


@pytest.fixture
def markers(tmp_path) -> Path:
    """A directory only root can reach (pytest's tmp dirs sit below a 0700 directory)."""
    path = tmp_path / "markers"
    path.mkdir()
    return path


def _attack_zip(markers: Path, workdir: Path) -> bytes:
    require_service(shutil.which("gcc") is not None, "compiling the planted library needs gcc")
    source = workdir / "planted.c"
    source.write_text(PRELOAD_SOURCE)
    library = workdir / "planted.so"
    subprocess.run(
        ["gcc", "-shared", "-fPIC", f'-DMARKERS="{markers}"', "-o", str(library), str(source)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    files = {
        "app.py": textwrap.dedent(HANDLER),
        "planted.so": library.read_bytes(),
        "planted.sh": f"/usr/bin/touch {markers}/shell-startup-$(/usr/bin/id -u) 2>/dev/null\n",
    }
    # Commands the chain runs by name, in case PATH leaked into it.
    tools = ("mount", "setpriv", "bwrap", "unshare", "prlimit", "cat")
    files.update({f"bin/{tool}": _shell_marker(markers, tool) for tool in tools})
    return make_zip(files, modes={f"bin/{tool}": 0o755 for tool in tools} | {"planted.so": 0o755})


def _hostile_environment(task: Path) -> dict[str, str]:
    return {
        "LD_PRELOAD": f"{task}/planted.so",
        "LD_LIBRARY_PATH": str(task),
        "PATH": f"{task}/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "BASH_ENV": f"{task}/planted.sh",
        "ENV": f"{task}/planted.sh",
        "PYTHONSTARTUP": f"{task}/planted.sh",
        "GCONV_PATH": str(task),
    }


def test_function_env_ld_preload__never_reaches_the_privileged_launch_chain(
    strata_server, lam, markers, tmp_path
):
    code = _attack_zip(markers, tmp_path)
    task = (
        Path(strata_server.data_dir)
        / "cache"
        / "functions"
        / "bundles"
        / bundle_key(hashlib.sha256(code).hexdigest(), [])
        / "task"
    ).resolve()
    create(lam, "preload-host-path", code, Environment={"Variables": _hostile_environment(task)})

    response, answer = invoke(lam, "preload-host-path")

    assert "FunctionError" not in response, answer
    assert (task / "planted.so").is_file(), "the attack must aim at the bundle's real host path"
    assert sorted(p.name for p in markers.iterdir()) == []
    # Inside the sandbox the host path does not exist, so nothing was loaded there either.
    assert answer["runtime"] is None and answer["preload"] == f"{task}/planted.so"


def test_function_env_ld_preload__still_applies_to_the_functions_own_processes(
    strata_server, lam, markers, tmp_path
):
    create(
        lam,
        "preload-in-sandbox",
        _attack_zip(markers, tmp_path),
        Environment={"Variables": {"LD_PRELOAD": "/var/task/planted.so"}},
    )

    response, answer = invoke(lam, "preload-in-sandbox")

    assert "FunctionError" not in response, answer
    assert answer == {"runtime": "yes", "child": "yes", "preload": "/var/task/planted.so"}
    assert sorted(p.name for p in markers.iterdir()) == []


def test_function_env_loader_variables__never_reach_the_launch_chain_without_bubblewrap(
    markers, tmp_path
):
    host = HostCapabilities.detect()
    require_service(host.root, "the fallback's uid drop needs root")
    fallback = host.without("bwrap", "cgroups", "loop")
    # The fallback's uid must reach the bundle, so it lives outside pytest's private tmp dirs.
    bundle = Path(tempfile.mkdtemp(prefix="strata-test-preload-"))
    try:
        os.chmod(bundle, 0o755)
        task = bundle / "task"
        with zipfile.ZipFile(io.BytesIO(_attack_zip(markers, tmp_path))) as archive:
            archive.extractall(task)
            for info in archive.infolist():
                os.chmod(task / info.filename, (info.external_attr >> 16) & 0o777)
        for path in [task, *(p for p in task.rglob("*") if p.is_dir())]:
            path.chmod(0o755)
        spec = FunctionSpec(
            bundle_dir=bundle,
            handler="app.handler",
            runtime="python3.11",
            isolation="best-effort",
            env=_hostile_environment(task),
        )
        with EnvironmentPool(host=fallback, max_environments_per_spec=1) as pool:
            result = pool.invoke(spec, b"{}")
        answer = json.loads(result.payload)
        assert result.outcome == "success", result.payload
        # The runtime (the sandbox's own process) did load it, as on Lambda ...
        assert answer["runtime"] == "yes"
        # ... and no root process of the chain (launcher, setpriv, prlimit) ever did.
        assert sorted(p.name for p in markers.iterdir()) == []
    finally:
        shutil.rmtree(bundle, ignore_errors=True)


@pytest.mark.parametrize(
    "name",
    [
        "AWS_REGION",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "AWS_SECRET_ACCESS_KEY",
    ],
)
def test_reserved_env_names__are_refused_at_create_and_update(lam, name):
    message = (
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not "
        f"supported for modification. Reserved keys used in this request: {name}"
    )
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create(lam, "reserved-on-create", Environment={"Variables": {name: "forged"}})
    assert refused.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": message,
    }
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="reserved-on-create")

    create(lam, "reserved-on-update", Environment={"Variables": {"KEPT": "1"}})
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        lam.update_function_configuration(
            FunctionName="reserved-on-update", Environment={"Variables": {name: "forged"}}
        )
    assert refused.value.response["Error"] == {
        "Code": "InvalidParameterValueException",
        "Message": message,
    }
    kept = lam.get_function_configuration(FunctionName="reserved-on-update")
    assert kept["Environment"]["Variables"] == {"KEPT": "1"}


@pytest.mark.parametrize("name", ["_HANDLER", "_X_AMZN_TRACE_ID"])
def test_reserved_env_names_off_the_models_pattern__are_refused_by_the_model(lam, name):
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        create(lam, "reserved-by-model", Environment={"Variables": {name: "forged"}})
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert "at 'environment.variables'" in refused.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName="reserved-by-model")
