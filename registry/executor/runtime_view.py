"""What the runtime sees: where its code, layers, runtime dir and interpreter are; its variables.

Under bubblewrap these are Lambda's fixed paths (/var/task, /opt, /var/runtime, /var/lang);
without it, the bundle's real ones, which the environment's uid must then be able to read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from registry.executor import forked, runtime_access
from registry.executor.errors import SandboxError
from registry.executor.interpreters import find_node, find_python
from registry.executor.plan import Plan
from registry.executor.sandbox import reachable_by_others, staging_mounts
from registry.executor.spec import FunctionSpec

_SANDBOX_ROOTS = {"task": "/var/task", "opt": "/opt", "runtime": "/var/runtime"}
COMPILED_BOOTSTRAP = "bootstrap.pyc"
NODE_BOOTSTRAP = "bootstrap.cjs"
# What Lambda's Node.js runtime starts node with: HTTP headers up to 80 KB (beyond node's 16 KB
# default), and --expose-gc, whose global.gc() the bootstrap gives instead (a V8 flag on the
# command line costs every cold start node's code cache, bootstrap_node.cjs says how).
_NODE_OPTIONS = ("--max-http-header-size=81920",)
_LANG = "/var/lang"  # where Lambda keeps its interpreter; a private one is shown there


class RuntimeView:
    def __init__(self, spec: FunctionSpec, plan: Plan, workdir: Path, shared: Path | None = None):
        """`workdir` is the environment's own; `shared` the pool's, where runtime dirs that
        environments can share are written once."""
        self.spec = spec
        self.plan = plan
        self._workdir = workdir
        self._shared = shared
        self._interpreter = None

    def entrypoint(self) -> list[str] | None:
        """The runtime's command: the built-in bootstrap under the spec's Python or node, else
        the bundle's own bootstrap; None when the bundle has none."""
        if self.spec.node_major:
            self._interpreter = find_node(self.spec.node_major)
            options = list(_NODE_OPTIONS)
            if self.plan.heap_cap:
                options.append(f"--max-old-space-size={self.spec.memory_mb}")
            return [self.interpreter(), *options, f"{self.root('runtime')}/{NODE_BOOTSTRAP}"]
        if self.spec.python_version:
            interpreter = find_python(self.spec.python_version)
            self._interpreter = interpreter
            name = COMPILED_BOOTSTRAP if self.compiled_bootstrap else "bootstrap.py"
            return [self.interpreter(), "-S", f"{self.root('runtime')}/{name}"]
        self._interpreter = None
        for where in ("task", "opt"):
            candidate = self.spec.bundle_dir / where / "bootstrap"
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return [f"{self.root(where)}/bootstrap"]
        return None

    def forked_by(self, rlimits: list[str]) -> tuple[str, str] | None:
        """The interpreter and account whose builder forks this runtime (forked.py), when one
        may; call after entrypoint()."""
        if self._interpreter is None or not forked.eligible(
            self.plan, self.spec, self._lang_prefix(), rlimits
        ):
            return None
        return str(self._interpreter.path), self.spec.account_id

    @property
    def compiled_bootstrap(self) -> bool:
        """Whether the runtime's interpreter reads the bytecode this one compiles."""
        return self.spec.python_version == "{}.{}".format(*sys.version_info[:2])

    def root(self, name: str) -> str:
        """Where the runtime sees task/, opt/ or the runtime dir."""
        if self.plan.bwrap:
            return _SANDBOX_ROOTS[name]
        if name == "runtime":
            return str(self.runtime_dir)
        return str(self.spec.bundle_dir / name)

    @property
    def runtime_dir(self) -> Path:
        """Alone in its parent, so that the parent can be a layer of the sandbox's view. Its
        files are the same for every environment of a runtime, so the pool's environments share
        one per bootstrap (writing them cost each cold start 2 ms of CPU), unless the sandbox
        listener's handoff socket must go in it."""
        if self._shared is None or self.plan.runtime_api == runtime_access.SANDBOX_LISTENER:
            return self._workdir / "src" / "runtime"
        if self.spec.node_major:
            kind = "node"
        else:
            kind = "python-compiled" if self.compiled_bootstrap else "python"
        return self._shared / "runtimes" / kind / "runtime"

    def _lang_prefix(self) -> Path | None:
        """The interpreter's installation when the sandbox must be shown it (not under /usr)."""
        if self._interpreter is None or not self.plan.bwrap:
            return None
        prefix = self._interpreter.prefix
        if prefix == Path("/usr") or Path("/usr") in prefix.parents:
            return None  # already in the sandbox with /usr
        return prefix

    def interpreter(self) -> str:
        """The interpreter (python or node) as the runtime sees it: at /var/lang when host paths
        are hidden."""
        prefix = self._lang_prefix()
        if prefix is not None and self.plan.neutral_paths:
            return f"{_LANG}/{self._interpreter.path.relative_to(prefix)}"
        return str(self._interpreter.path)

    def sandbox_sources(self, tmp_path: Path, other_uid: bool):
        """Host paths for the sandbox's mounts, and the launcher's staging mounts. Where the plan
        hides host paths, one overlay of the bundle and the runtime dir's parent shows task/,
        opt/ and runtime/ (bwrap binds its subdirectories), with one more for the interpreter
        or the layers; else binds make private directories reachable."""
        runtime_dir = self.runtime_dir
        bundle = self.spec.bundle_dir
        prefix = self._lang_prefix()
        # Every launcher mounts in a mount namespace of its own, so its mountpoints can be the
        # same directories for all of the pool's environments: no directories made per start.
        stage = (self._shared or self._workdir) / "mnt"
        sources: dict[str, Path] = {"tmp": tmp_path}
        if self.plan.neutral_paths:
            views = {"view": [bundle, runtime_dir.parent]}  # Strata's runtime/ wins any clash
            if self.plan.overlay_opt:
                views["opt"] = list(self.spec.opt_layers)
            if prefix is not None:
                views["lang"] = [prefix]
            mounts, mounted = staging_mounts(views, {}, stage)
            view = mounted.pop("view")
            sources.update(task=view / "task", runtime=view / "runtime", **mounted)
            if not self.plan.overlay_opt and (bundle / "opt").is_dir():
                sources["opt"] = view / "opt"
        else:
            wanted = {"task": bundle / "task", "runtime": runtime_dir}
            if (bundle / "opt").is_dir():
                wanted["opt"] = bundle / "opt"
            if prefix is not None:
                wanted["lang"] = prefix
            private = {
                name: path
                for name, path in wanted.items()
                if other_uid and not reachable_by_others(path)
            }
            mounts, mounted = staging_mounts({}, private, stage)
            sources.update(wanted)
            sources.update(mounted)
        if prefix is not None:
            sources["lang_at"] = Path(_LANG if self.plan.neutral_paths else prefix)
        return sources, mounts

    def check_reachable(self) -> None:
        """Without bubblewrap the runtime reads the real paths as the environment's uid."""
        paths = [self.spec.bundle_dir / "task"]
        if self._interpreter is not None:
            paths.append(self._interpreter.path)
        for path in paths:
            if not reachable_by_others(path):
                raise SandboxError(
                    f"{path} is not readable by the sandbox's unprivileged uid (a parent "
                    "directory is private); move it, make it world-readable, or use bubblewrap"
                )

    def variables(self, api: str, tmp: Path, log_stream: str, provisioned: bool) -> dict[str, str]:
        """The runtime's environment: Lambda's reserved variables, then the function's own."""
        spec = self.spec
        task, opt, runtime = self.root("task"), self.root("opt"), self.root("runtime")
        # A shared-library interpreter shown at /var/lang finds its libpython there, as on Lambda.
        lang = f"{_LANG}/lib:" if self.plan.neutral_paths and self._lang_prefix() else ""
        env = {
            "PATH": f"/usr/local/bin:/usr/bin/:/bin:{opt}/bin",
            "LD_LIBRARY_PATH": (
                f"{lang}/lib64:/usr/lib64:{runtime}:{runtime}/lib:{task}:{task}/lib:{opt}/lib"
            ),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PWD": task,  # the launcher shell would otherwise export its own working directory
            "LAMBDA_TASK_ROOT": task,
            "LAMBDA_RUNTIME_DIR": runtime,
            "_HANDLER": spec.handler,
            "AWS_LAMBDA_RUNTIME_API": api,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": spec.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": (
                "provisioned-concurrency" if provisioned else "on-demand"
            ),
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
        }
        if spec.python_version:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
            env["PYTHONPATH"] = (
                f"{task}:{opt}/python/lib/python{spec.python_version}/site-packages:{opt}/python"
            )
        major = spec.node_major
        if major:
            env["AWS_EXECUTION_ENV"] = f"AWS_Lambda_{spec.runtime}"
            # Lambda's order: the layers' directory for this major first, then the generic one.
            env["NODE_PATH"] = (
                f"{opt}/nodejs/node{major}/node_modules:{opt}/nodejs/node_modules:"
                f"{runtime}/node_modules:{runtime}:{task}"
            )
        if not self.plan.bwrap:
            env["TMPDIR"] = str(tmp)
        if self.plan.rlimit_memory:
            # Under RLIMIT_AS every thread's malloc arena and OpenBLAS's per-core threads eat
            # address space; these keep ordinary code (threads, numpy) working under the cap.
            env.update(MALLOC_ARENA_MAX="2", OPENBLAS_NUM_THREADS="1")
        env.update(spec.env)
        return env
