"""`strata run`: execute a bundle like Lambda, print the response, logs and REPORT line.

Exit status: 0 success, 1 function error, 2 usage error, 3 timeout, 4 out of memory,
5 runtime crash or init error, 6 sandbox unavailable (including strict isolation refused).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from registry import exits
from registry.errors import StrataError
from registry.executor.pool import EnvironmentPool
from registry.executor.spec import MEMORY_MB, TIMEOUT_S, TMP_MB, FunctionSpec

EXIT_CODES = {
    "success": exits.OK,
    "function_error": exits.FUNCTION_ERROR,
    "timeout": exits.TIMEOUT,
    "out_of_memory": exits.OUT_OF_MEMORY,
    "runtime_exit": exits.RUNTIME_CRASH,
    "init_error": exits.RUNTIME_CRASH,
}
# bundle.json keys (snake_case or Lambda's configuration names) -> option
_BUNDLE_KEYS = {
    "handler": ("handler", "Handler"),
    "runtime": ("runtime", "Runtime"),
    "memory": ("memory_mb", "MemorySize"),
    "timeout": ("timeout_s", "Timeout"),
    "tmp": ("tmp_mb", "EphemeralStorage"),
}


def _from_bundle(bundle: Path) -> dict:
    path = bundle / "bundle.json"
    if not path.is_file():
        return {}
    try:
        document = json.loads(path.read_text())
    except ValueError as exc:
        raise click.UsageError(f"{path} is not valid JSON: {exc}") from None
    config = document.get("function_config") or document.get("config") or document
    found = {}
    for option, names in _BUNDLE_KEYS.items():
        for name in names:
            value = config.get(name) if isinstance(config, dict) else None
            if isinstance(value, dict):
                value = value.get("Size")
            if value is not None:
                found[option] = value
                break
    return found


def _parse_env(pairs: tuple[str, ...]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"{pair!r} is not K=V", param_hint="--env")
        env[name] = value
    return env


@click.command("run")
@click.argument("bundle_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--handler",
    help="mod.func (python), file.export (nodejs) or the handler name a custom runtime reads",
)
@click.option(
    "--runtime",
    help="python3.N, nodejsN.x (18 or newer), provided.al2023, provided.al2 or provided",
)
@click.option("--memory", type=click.IntRange(*MEMORY_MB), help="MB (default 128)")
@click.option("--tmp", type=click.IntRange(*TMP_MB), help="size of /tmp in MB (default 512)")
@click.option("--timeout", type=click.IntRange(*TIMEOUT_S), help="seconds (default 3)")
@click.option("--event", type=click.File("rb"), help="event JSON file, or - for stdin (default {})")
@click.option("--env", "env_pairs", multiple=True, metavar="K=V", help="environment variable")
@click.option(
    "--isolation",
    type=click.Choice(["strict", "best-effort", "none"]),
    default="best-effort",
    show_default=True,
)
@click.option("--network/--no-network", default=False, help="allow network access")
@click.option(
    "--repeat",
    type=click.IntRange(1, 100000),
    default=1,
    help="invoke N times in one warm environment",
)
@click.option("--function-name", default="function", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="one JSON document per invocation on stdout")
def run(
    bundle_dir,
    handler,
    runtime,
    memory,
    tmp,
    timeout,
    event,
    env_pairs,
    isolation,
    network,
    repeat,
    function_name,
    as_json,
):
    """Run BUNDLE_DIR (task/ and opt/, as `strata merge` builds it) like AWS Lambda.

    Prints the response on stdout and the function's logs with Lambda's REPORT line on stderr.
    Exit status: 0 success, 1 function error, 3 timeout, 4 out of memory, 5 runtime crash or
    init error, 6 sandbox unavailable.
    """
    spec = _spec(
        bundle_dir,
        handler,
        runtime,
        memory,
        tmp,
        timeout,
        env_pairs,
        function_name=function_name,
        isolation=isolation,
        network=network,
    )
    payload = event.read() if event is not None else b"{}"
    code = exits.OK
    with EnvironmentPool(max_environments_per_spec=1) as pool:
        for _ in range(repeat):
            result = pool.invoke(spec, payload)
            _print(result, as_json)
            code = EXIT_CODES[result.outcome]
    sys.exit(code)


def _spec(bundle_dir: Path, handler, runtime, memory, tmp, timeout, env_pairs, **options):
    """The function to run: the options given, else bundle.json's values, else Lambda's defaults."""
    defaults = _from_bundle(bundle_dir)
    handler = handler or defaults.get("handler")
    runtime = runtime or defaults.get("runtime")
    if not handler or not runtime:
        raise click.UsageError("--handler and --runtime are required (no bundle.json gives them)")
    try:
        return FunctionSpec(
            bundle_dir=bundle_dir,
            handler=handler,
            runtime=runtime,
            memory_mb=int(memory or defaults.get("memory", 128)),
            tmp_mb=int(tmp or defaults.get("tmp", 512)),
            timeout_s=float(timeout or defaults.get("timeout", 3)),
            env=_parse_env(env_pairs),
            **options,
        )
    except StrataError as exc:  # the spec is made of the options: a value it refuses is misused
        raise click.UsageError(exc.message) from None


def _print(result, as_json: bool) -> None:
    if as_json:
        report = result.report
        document = {
            "request_id": result.request_id,
            "outcome": result.outcome,
            "function_error": result.function_error,
            "payload": result.payload.decode("utf-8", "replace"),
            "report": {
                "duration_ms": report.duration_ms,
                "billed_duration_ms": report.billed_duration_ms,
                "memory_size_mb": report.memory_size_mb,
                "max_memory_used_mb": report.max_memory_used_mb,
                "init_duration_ms": report.init_duration_ms,
            },
            "mechanisms": result.mechanisms,
            "logs": result.logs,
        }
        click.echo(json.dumps(document))
        return
    sys.stderr.write(result.logs)
    sys.stderr.flush()
    sys.stdout.buffer.write(result.payload + b"\n")
    sys.stdout.flush()
