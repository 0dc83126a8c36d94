"""Node.js functions through the executor: the built-in JavaScript bootstrap has Lambda's
Node.js semantics (handler resolution, ES modules and CommonJS, async and callback handlers, the
context object, error documents, console lines) under the interpreter of the runtime's major."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from registry.executor import EnvironmentPool
from tests.executor.conftest import assert_nothing_left, snapshot, spec_for, strict_available
from tests.support import require_service
from tests.support.nodejs import node_runtime_params, require_node

STRATA = str(Path(sys.executable).with_name("strata"))
APP = {
    "index.mjs": """
        const answer = await Promise.resolve(42); // top-level await
        let calls = 0;
        console.log('init of index.mjs');
        export const handler = async (event, context) => {
          calls += 1;
          console.log('hello', { n: event.n });
          console.info('an info');
          console.warn('a warning');
          console.error('an error');
          return { event, answer, calls, version: process.version,
                   executionEnv: process.env.AWS_EXECUTION_ENV };
        };
        export const nested = { deeper: { fn: async () => 'nested' } };
        export const context = async (event, context) => ({
          functionName: context.functionName,
          functionVersion: context.functionVersion,
          invokedFunctionArn: context.invokedFunctionArn,
          memoryLimitInMB: context.memoryLimitInMB,
          awsRequestId: context.awsRequestId,
          logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          remaining: context.getRemainingTimeInMillis(),
          clientContext: context.clientContext,
          identity: context.identity === undefined ? 'undefined' : context.identity,
          waits: context.callbackWaitsForEmptyEventLoop,
        });
        export const rejects = async () => { throw new TypeError('rejected'); };
        class MyError extends Error { constructor(m) { super(m); this.name = 'MyError'; } }
        export const custom = async () => { throw new MyError('mine'); };
        export const circular = async () => { const o = {}; o.self = o; return o; };
        export const uncaught = async () => {
          setTimeout(() => { throw new Error('thrown later'); }, 0);
          return new Promise(() => {});
        };
        export const unhandled = async () => {
          Promise.reject(new Error('nobody catches'));
          return new Promise((resolve) => setTimeout(() => resolve('late'), 1000));
        };
        export const counter = async () => ++calls;
        export const echo = async (event) => ({ event });
        export const notAFunction = 7;
    """,
    "callbacks.js": """
        exports.early = (event, context, callback) => {
          setTimeout(() => console.log('timer ran'), 150);
          callback(null, 'early');
        };
        exports.noWait = (event, context, callback) => {
          context.callbackWaitsForEmptyEventLoop = false;
          setTimeout(() => console.log('left behind'), 400);
          callback(null, 'no wait');
        };
        exports.fails = (event, context, callback) => callback(new RangeError('via callback'));
        exports.failsWithString = (event, context, callback) => callback('just a string');
        exports.plainValue = (event) => 42;
        exports.throws = () => { throw new Error('boom'); };
        exports.never = async () => new Promise(() => {});
        exports.succeed = (event, context) => { context.succeed({ via: 'succeed' }); };
    """,
    "common.cjs": "module.exports.handler = async () => 'from cjs';\n",
    "esm/package.json": '{"type": "module"}',
    "esm/app.js": "export const handler = async () => 'from js as esm';\n",
    "lib/deep/mod.js": "exports.handler = async () => 'from lib/deep';\n",
    "syntax.js": "exports.handler = async () => {{ ;\n",
    "missing_dep.js": "require('not-installed-anywhere');\nexports.handler = async () => 1;\n",
    "missing_esm.mjs": "import x from 'not-installed-anywhere';\nexport const handler = x;\n",
    "init_throws.js": "throw new Error('broken at init');\n",
}


@pytest.fixture(scope="module")
def node_pool(host):
    """One pool for the semantics: strict where the host allows it, else the fallback."""
    require_service(host.root, "running a sandbox as a fresh uid needs root")
    chosen = host if strict_available(host) else host.without("bwrap", "cgroups", "loop")
    before = snapshot()
    pool = EnvironmentPool(host=chosen, max_environments_per_spec=2, idle_timeout_s=60)
    yield pool
    pool.close()
    assert_nothing_left(before, pool)


@pytest.fixture(scope="module", params=node_runtime_params())
def runtime(request):
    return require_node(request.param)


@pytest.fixture(scope="module")
def app(bundles):
    return bundles(task=APP)


@pytest.fixture
def run(node_pool, app, runtime):
    def invoke(handler: str, event=None, **kw):
        spec = spec_for(app, handler=handler, runtime=runtime, timeout_s=5)
        return node_pool.invoke(spec, json.dumps(event or {}).encode(), **kw)

    return invoke


def payload(result):
    return json.loads(result.payload)


# ---- the interpreter and handler resolution ---------------------------------------------------


def test_nodejs__runs_under_the_node_of_the_runtimes_major(run, runtime):
    result = run("index.handler", {"n": 1})
    assert result.outcome == "success", result.logs
    body = payload(result)
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    assert body["version"].startswith(f"v{major}.")
    assert body["executionEnv"] == f"AWS_Lambda_{runtime}"
    assert (body["answer"], body["event"]) == (42, {"n": 1})  # top-level await ran at init


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        ("common.handler", "from cjs"),
        ("esm/app.handler", "from js as esm"),
        ("lib/deep/mod.handler", "from lib/deep"),
        ("index.nested.deeper.fn", "nested"),
    ],
)
def test_handler__files_directories_module_kinds_and_nested_exports(run, handler, expected):
    result = run(handler)
    assert (result.outcome, payload(result)) == ("success", expected), result.logs


def test_warm_environment__keeps_module_state_and_reports_init_once(run):
    first, second = run("index.counter"), run("index.counter")
    assert payload(second) == payload(first) + 1
    assert second.report.init_duration_ms is None


# ---- handler styles ---------------------------------------------------------------------------


def test_callback__waits_for_the_empty_event_loop_by_default(run):
    result = run("callbacks.early")
    assert payload(result) == "early"
    assert "timer ran" in result.logs.split("END RequestId")[0]
    assert result.report.duration_ms >= 140


def test_callback__answers_at_once_when_told_not_to_wait(run):
    result = run("callbacks.noWait")
    assert payload(result) == "no wait"
    assert "left behind" not in result.logs
    assert result.report.duration_ms < 300


def test_handler__a_plain_return_value_is_ignored_and_null_answered(run):
    assert run("callbacks.plainValue").payload == b"null"


def test_handler__an_invocation_without_a_payload_gets_a_null_event(node_pool, app, runtime):
    result = node_pool.invoke(spec_for(app, handler="index.echo", runtime=runtime), b"")
    assert payload(result)["event"] is None


def test_handler__a_promise_that_never_settles_answers_null_once_nothing_is_left(run):
    result = run("callbacks.never")
    assert (result.outcome, result.payload) == ("success", b"null")


def test_context__succeed_answers(run):
    assert payload(run("callbacks.succeed")) == {"via": "succeed"}


def test_context__has_lambdas_members(run, runtime):
    result = run("index.context", request_id="req-ctx-1", client_context='{"custom": {"k": "v"}}')
    body = payload(result)
    assert body["functionName"] == "function" and body["functionVersion"] == "$LATEST"
    assert body["invokedFunctionArn"].endswith(":function:function")
    assert body["memoryLimitInMB"] == "128" and body["awsRequestId"] == "req-ctx-1"
    assert body["logGroupName"] == "/aws/lambda/function"
    assert body["logStreamName"].endswith("]" + body["logStreamName"].split("]")[-1])
    assert 0 < body["remaining"] <= 5000
    assert body["clientContext"] == {"custom": {"k": "v"}}
    assert body["identity"] == "undefined" and body["waits"] is True


GC_APP = """
    const atInit = typeof gc;
    exports.h = async () => {
      const d = Object.getOwnPropertyDescriptor(globalThis, 'gc');
      const ref = (() => new WeakRef({ n: 1 }))();
      await new Promise((resolve) => setTimeout(resolve, 0)); // a WeakRef holds for its job
      gc();
      return { atInit, name: gc.name, length: gc.length, enumerable: d.enumerable,
               writable: d.writable, configurable: d.configurable,
               collected: ref.deref() === undefined };
    };
"""


def test_gc__global_gc_is_there_from_init_and_collects_as_under_expose_gc(
    node_pool, bundles, runtime
):
    bundle = bundles(task={"gc.js": GC_APP})
    result = node_pool.invoke(spec_for(bundle, handler="gc.h", runtime=runtime), b"{}")
    assert result.outcome == "success", result.logs
    assert payload(result) == {  # the property `node --expose-gc` defines
        "atInit": "function",
        "name": "gc",
        "length": 0,
        "enumerable": True,
        "writable": True,
        "configurable": False,
        "collected": True,
    }


# ---- console ----------------------------------------------------------------------------------


def test_console__lines_carry_the_time_request_id_and_level(run):
    result = run("index.handler", {"n": 7}, request_id="req-log-1")
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
    for level, text in (
        ("INFO", "hello { n: 7 }"),
        ("INFO", "an info"),
        ("WARN", "a warning"),
        ("ERROR", "an error"),
    ):
        assert re.search(rf"^{stamp}\treq-log-1\t{level}\t{re.escape(text)}$", result.logs, re.M)


def test_console__init_lines_have_no_request_id_yet(node_pool, bundles, runtime):
    bundle = bundles(task={"i.js": "console.log('at init');\nexports.h = async () => 1;\n"})
    result = node_pool.invoke(spec_for(bundle, handler="i.h", runtime=runtime), b"{}")
    assert re.search(r"Z\tundefined\tINFO\tat init$", result.logs, re.M), result.logs


# ---- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("callbacks.throws", "Error", "boom"),
        ("index.rejects", "TypeError", "rejected"),
        ("index.custom", "MyError", "mine"),
        ("callbacks.fails", "RangeError", "via callback"),
        ("index.circular", "Error", "Unable to stringify response body"),
    ],
)
def test_errors__thrown_rejected_and_called_back_errors_keep_their_type(
    run, handler, error_type, message
):
    result = run(handler)
    assert (result.outcome, result.function_error) == ("function_error", "Unhandled")
    document = payload(result)
    assert (document["errorType"], document["errorMessage"]) == (error_type, message)
    assert document["trace"][0] == f"{error_type}: {message}"
    assert all(isinstance(line, str) for line in document["trace"])
    assert "ERROR\tInvoke Error \t" in result.logs


def test_errors__a_non_error_passed_to_the_callback_is_typed_by_typeof(run):
    document = payload(run("callbacks.failsWithString"))
    assert document == {"errorType": "string", "errorMessage": "just a string", "trace": []}


@pytest.mark.parametrize(
    ("handler", "error_type", "message", "exit_log"),
    [
        ("index.uncaught", "Error", "thrown later", "Uncaught Exception"),
        (
            "index.unhandled",
            "Runtime.UnhandledPromiseRejection",
            "Error: nobody catches",
            "Unhandled Promise Rejection",
        ),
    ],
)
def test_errors__uncaught_exceptions_and_unhandled_rejections_answer_then_end_the_environment(
    run, handler, error_type, message, exit_log
):
    result = run(handler)
    document = payload(result)
    assert (result.outcome, document["errorType"], document["errorMessage"]) == (
        "function_error",
        error_type,
        message,
    )
    assert exit_log in result.logs
    # The runtime exits after answering, as Lambda's does: the next invocation starts afresh.
    following = [run(handler) for _ in range(2)]
    assert all(payload(r)["errorType"] == error_type for r in following)
    assert all(r.report.init_duration_ms is not None for r in following)


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("missing_dep.handler", "Runtime.ImportModuleError", "Error: Cannot find module"),
        (
            "missing_esm.handler",
            "Runtime.ImportModuleError",
            # node 22 names the code in the text, as Lambda's nodejs22.x shows it
            r"Error( \[ERR_MODULE_NOT_FOUND\])?: Cannot find package 'not-installed-anywhere'",
        ),
        ("nowhere.handler", "Runtime.ImportModuleError", "Error: Cannot find module 'nowhere'"),
        ("index.absent", "Runtime.HandlerNotFound", r"index\.absent is undefined or not exported"),
        ("index.notAFunction", "Runtime.HandlerNotFound", r"index\.notAFunction is not a fun"),
        ("index", "Runtime.MalformedHandlerName", "Bad handler"),
        ("../etc/passwd.x", "Runtime.MalformedHandlerName", r"'\.\.' is not allowed in handler"),
        ("syntax.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: "),
        ("init_throws.handler", "Error", "broken at init"),
    ],
)
def test_init_errors__are_reported_with_lambdas_error_types(run, handler, error_type, message):
    result = run(handler)
    assert result.outcome == "init_error", result.logs
    document = payload(result)
    assert document["errorType"] == error_type
    assert re.match(message, document["errorMessage"])
    assert document["trace"][0].startswith(f"{error_type}: ")
    assert "Uncaught Exception" in result.logs


# ---- layers: NODE_PATH ------------------------------------------------------------------------


def layer_package(name: str, copy: str) -> dict[str, str]:
    return {
        f"{name}/package.json": json.dumps({"name": name, "main": "index.js"}),
        f"{name}/index.js": f"module.exports = {{ copy: {copy!r} }};\n",
    }


@pytest.fixture(scope="module")
def layered(bundles, runtime):
    major = runtime.removeprefix("nodejs").removesuffix(".x")
    opt = {}
    for name, copy in (("shared", "generic"), ("only-generic", "generic")):
        opt |= {f"nodejs/node_modules/{k}": v for k, v in layer_package(name, copy).items()}
    opt |= {
        f"nodejs/node{major}/node_modules/{k}": v
        for k, v in layer_package("shared", f"node{major}").items()
    }
    # another major's directory is never read
    opt |= {
        f"nodejs/node9/node_modules/{k}": v for k, v in layer_package("shared", "node9").items()
    }
    task = {
        "cjs.js": """
            exports.handler = async () => ({
              shared: require('shared').copy,
              onlyGeneric: require('only-generic').copy,
              nodePath: process.env.NODE_PATH,
            });
        """,
        "esm.mjs": """
            import shared from 'shared';
            import onlyGeneric from 'only-generic';
            export const handler = async () =>
              ({ shared: shared.copy, onlyGeneric: onlyGeneric.copy });
        """,
    }
    return bundles(task=task, opt=opt), major


def test_layers__node_path_is_lambdas_and_the_majors_directory_wins(node_pool, layered, runtime):
    bundle, major = layered
    result = node_pool.invoke(spec_for(bundle, handler="cjs.handler", runtime=runtime), b"{}")
    body = payload(result)
    assert (body["shared"], body["onlyGeneric"]) == (f"node{major}", "generic"), result.logs
    if "bwrap" in result.mechanisms["filesystem"]:
        assert body["nodePath"] == (
            f"/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:"
            "/var/runtime/node_modules:/var/runtime:/var/task"
        )


def test_layers__es_modules_import_layer_packages_in_the_same_order(node_pool, layered, runtime):
    bundle, major = layered
    result = node_pool.invoke(spec_for(bundle, handler="esm.handler", runtime=runtime), b"{}")
    assert payload(result) == {"shared": f"node{major}", "onlyGeneric": "generic"}, result.logs


# ---- strata run -------------------------------------------------------------------------------


def strata_run(*args, event: str = "{}"):
    return subprocess.run(
        [STRATA, "run", *args], input=event, capture_output=True, text=True, timeout=120
    )


def test_strata_run__runs_a_nodejs_bundle_under_strict_isolation(host, app, runtime):
    require_service(strict_available(host), "strict isolation needs root, bubblewrap and cgroups")
    done = strata_run(
        str(app),
        "--handler",
        "index.handler",
        "--runtime",
        runtime,
        "--isolation",
        "strict",
        "--event",
        "-",
        "--repeat",
        "2",
        event='{"n": 3}',
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert [a["calls"] for a in answers] == [1, 2] and answers[0]["event"] == {"n": 3}
    assert done.stderr.count("REPORT RequestId: ") == 2 and "\tINFO\thello { n: 3 }" in done.stderr

    failed = strata_run(str(app), "--handler", "index.rejects", "--runtime", runtime)
    assert failed.returncode == 1 and json.loads(failed.stdout)["errorType"] == "TypeError"


def test_strata_run__a_major_with_no_interpreter_is_a_usage_error_naming_it(app):
    done = strata_run(str(app), "--handler", "index.handler", "--runtime", "nodejs99.x")
    assert done.returncode == 2
    assert "no Node.js 99 interpreter" in done.stderr and "STRATA_NODEJS_99" in done.stderr


def test_layers__an_overlay_of_layer_extractions_the_last_winning(
    node_pool, host, bundles, runtime
):
    require_service(strict_available(host), "overlaying /opt needs root, overlayfs and bubblewrap")

    def extraction(copy: str) -> Path:
        files = {f"nodejs/node_modules/{k}": v for k, v in layer_package("shared", copy).items()}
        return bundles(opt=files) / "opt"

    task = bundles(task={"o.js": "exports.h = async () => require('shared').copy;\n"})
    layers = [extraction("first"), extraction("second")]
    spec = spec_for(task, handler="o.h", runtime=runtime, opt_layers=layers)
    assert payload(node_pool.invoke(spec, b"{}")) == "second"
