"""The HTTP face: the AWS Lambda REST API plus a few extension endpoints.

Handlers only translate between HTTP and the domain; authentication happens once, before any
Lambda API handler runs.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import re
import uuid

from flask import Flask, current_app, g, request

from registry import console
from registry.accounts import KeyDirectory, seed_dev_account
from registry.api import (
    absent_settings,
    account,
    cloudwatch,
    concurrency,
    errors,
    event_invoke_config,
    ext,
    functions,
    layers,
    logs,
    metrics,
    permissions,
    request_log,
    rpc,
    sigv4,
    tags,
)
from registry.api.admission import BodyAllowance
from registry.api.context import Services, services
from registry.api.model.checks import ModelChecks
from registry.api.requests import body_sha256, json_document
from registry.blobs import open_store
from registry.cache_sweep import CacheSweeper
from registry.config import Settings
from registry.db import Database
from registry.errors import ServiceUnavailable
from registry.executor import EnvironmentPool
from registry.front.limits import FrontLimits
from registry.functions.service import FunctionService
from registry.invocations.bundles import BundleCache
from registry.invocations.concurrency import ConcurrencyGate
from registry.invocations.events import EventQueue
from registry.invocations.invoke import Invoker
from registry.invocations.observers import InvocationObservers
from registry.invocations.preparation import BundlePreparer
from registry.invocations.provisioned import ProvisionedConcurrencyService
from registry.layers.service import LayerService
from registry.limits import MAX_DIRECT_UPLOAD_BYTES
from registry.logs.service import FunctionLogs
from registry.metrics.merge_cache import count_lookup as count_merge_cache_lookup
from registry.private_files import private_data_dir
from registry.secret_box import SecretBox
from registry.usage.recorder import UsageRecorder

log = logging.getLogger(__name__)

# Lambda API paths start with their API version date; every other path is an extension endpoint
# with its own protection.
_API_PATH = re.compile(r"/\d{4}-\d{2}-\d{2}/")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    _tune_malloc_for_large_bodies()
    app = Flask("strata")
    # Answers keep the order their serializers build, as Lambda's do; sorting every object's keys
    # cost a fifth of the JSON encoding of a ListFunctions page.
    app.json.sort_keys = False
    # A 50 MB zip grows by a third as base64 inside the JSON body.
    app.config["MAX_CONTENT_LENGTH"] = MAX_DIRECT_UPLOAD_BYTES * 4 // 3 + 64 * 1024

    secret_box = SecretBox.from_settings(settings)
    app.extensions["strata"] = wired = _wire_services(settings, secret_box)
    # Started before the rest, so that at exit (atexit runs last-registered first) the writer
    # stops after the invocations that drain and still stores their logs.
    app.extensions["function_logs"] = function_logs = FunctionLogs.start(
        settings, wired.db, wired.invoker.observers
    )
    atexit.register(function_logs.stop)
    _start_background_work(wired)
    if settings.dev:
        _seed_dev_account(wired.db, secret_box)
    _set_front_limits(app, settings)
    app.extensions["lambda_model"] = ModelChecks.load()
    _register_handlers(app)
    return app


def _seed_dev_account(db: Database, secret_box: SecretBox) -> None:
    """`strata serve` seeds the account before it starts its workers. A worker started again
    while the database is away comes up not ready instead: failing to boot would make gunicorn
    stop the whole server, taking the workers that still serve with it."""
    try:
        seed_dev_account(db, secret_box)
    except ServiceUnavailable as error:
        log.warning("dev account not checked: %s", error)


def _wire_services(settings: Settings, secret_box: SecretBox) -> Services:
    db = Database(settings.resolved_database_url)
    store = open_store(settings)
    layer_service = LayerService(db, store, region=settings.region)
    function_service = FunctionService(db, store, layer_service, region=settings.region)
    bundles = BundleCache(
        store,
        settings.cache_dir / "functions",
        merge_cache_dir=settings.cache_dir,
        on_lookup=count_merge_cache_lookup if settings.metrics else None,
    )
    preparer = BundlePreparer(db, bundles)
    function_service.prepare_with(preparer.kick)
    invoker = Invoker(
        function_service,
        bundles,
        EnvironmentPool(
            max_environments_per_account=settings.account_max_environments,
            memory_budget_mb=settings.memory_budget_mb,
            memory_fraction=settings.memory_fraction,
            memory_ledger=settings.memory_ledger,
            memory_wait_s=settings.memory_wait,
        ),
        region=settings.region,
        isolation=settings.executor_isolation,
        gate=ConcurrencyGate(db),
        observers=InvocationObservers(),
    )
    # Root without bubblewrap runs handlers as their own uid against the real bundle paths in
    # the cache, so only then may others pass through the data directory.
    host = invoker.pool.host
    private_data_dir(settings.data_dir, sandbox_traversal=host.root and not host.bwrap)
    events = EventQueue(
        db,
        invoker,
        workers=settings.event_workers,
        max_pending_per_account=settings.event_queue_max_per_account,
    )
    provisioned = ProvisionedConcurrencyService(db, function_service, invoker)
    usage = UsageRecorder(db, running=invoker.gate.running)
    usage.observe(invoker.observers)
    return Services(
        settings=settings,
        db=db,
        store=store,
        keys=KeyDirectory(db, secret_box),
        layers=layer_service,
        functions=function_service,
        invoker=invoker,
        events=events,
        provisioned=provisioned,
        preparer=preparer,
        usage=usage,
    )


def _start_background_work(wired: Services) -> None:
    wired.invoker.gate.start()
    wired.events.start()
    wired.provisioned.start()
    wired.preparer.start()
    wired.usage.start()
    sweeper = CacheSweeper(wired.db, wired.settings.cache_dir)
    sweeper.start()
    atexit.register(
        _shutdown,
        wired.events,
        wired.provisioned,
        wired.invoker,
        wired.preparer,
        wired.usage,
        sweeper,
    )


def _set_front_limits(app: Flask, settings: Settings) -> None:
    """What the server front (registry/front) needs from the app: its timeouts, and how much body
    a request may send, decided from its head before the body is read."""
    app.front_limits = FrontLimits(
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        drain_accept=settings.drain_accept,
        body_budget_bytes=4 * app.config["MAX_CONTENT_LENGTH"],
    )
    app.body_allowance = BodyAllowance(
        _signing_names,
        app.extensions["strata"].keys.find,
        settings.region,
        app.config["MAX_CONTENT_LENGTH"],
        unsigned=console.body_allowance,
    )


def _register_handlers(app: Flask) -> None:
    errors.register(app)
    # Clients of every age must reach the same operations: botocore's models have sent some paths
    # with a trailing slash (ListFunctions, GetAccountSettings) and others without.
    app.url_map.strict_slashes = False
    # First, so that requests refused by authentication are counted and timed too.
    if app.extensions["strata"].settings.metrics:
        metrics.install(app, app.extensions["strata"])
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.register_blueprint(layers.bp)
    app.register_blueprint(functions.bp)
    app.register_blueprint(concurrency.bp)
    app.register_blueprint(event_invoke_config.bp)
    app.register_blueprint(absent_settings.bp)
    app.register_blueprint(permissions.bp)
    app.register_blueprint(tags.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(ext.bp)
    app.register_blueprint(rpc.bp)
    wired = app.extensions["strata"]
    console.register(app, wired.settings, wired.store)
    cloudwatch.register()
    logs.register()


def _shutdown(
    events: EventQueue,
    provisioned: ProvisionedConcurrencyService,
    invoker: Invoker,
    preparer: BundlePreparer,
    usage: UsageRecorder,
    sweeper: CacheSweeper,
) -> None:
    # Unfinished events keep their rows and are claimed again once their lease expires; a
    # bundle left half prepared is prepared again by the next sweep of any process.
    preparer.stop()
    sweeper.stop()
    events.stop()
    provisioned.stop()
    invoker.gate.stop()
    invoker.close()
    # Last, so that the invocations that ended while draining are counted too.
    usage.stop()


def _tune_malloc_for_large_bodies() -> None:
    """A publish holds a request body and a decoded zip of tens of MB. With glibc's default of
    one malloc arena per thread, every request thread would keep such buffers resident in its own
    arena after freeing them; with one arena the next request reuses the same memory. (Python
    holds the GIL anyway, so threads lose nothing by sharing it.)"""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_arena_max = -8
    libc.mallopt(m_arena_max, 1)
    # A request body grows as its bytes arrive. Served from the heap, each growth of a 60 MB body
    # may copy it, holding it twice; from mmap, realloc moves its pages instead, and a freed
    # body's memory goes back at once. (A fixed threshold also stops glibc from raising it to
    # the size of the last large buffer freed, which would send the next one to the heap.)
    m_mmap_threshold = -3
    libc.mallopt(m_mmap_threshold, 1024 * 1024)


def _signing_names(method: str, path: str) -> tuple[str, ...] | None:
    """The services a request must be signed for; None for the unsigned extension endpoints."""
    return ("lambda",) if _API_PATH.match(path) else rpc.signing_names(method, path)


def _start_request():
    request_log.start()
    g.request_id = str(uuid.uuid4())
    lambda_api = bool(_API_PATH.match(request.path))
    signing_names = _signing_names(request.method, request.path)
    if signing_names:
        # The headers are checked before the body is read: an unsigned request costs no body.
        credential = sigv4.check_headers(
            request.headers,
            services().keys.find,
            region=services().settings.region,
            services=signing_names,
        )
        g.caller = sigv4.check_signature(_signed_request(), credential)
        g.signed_for = credential.service
    if lambda_api and request.url_rule is not None:  # an unknown operation is answered as one
        current_app.extensions["lambda_model"].check(
            request.method, request.path, request.args, request.headers, json_document
        )


def _finish_request(response):
    response.headers["x-amzn-RequestId"] = g.get("request_id", "")
    request_log.finish(response)
    caller = g.get("caller")
    if caller is not None:  # a signed request: the account's, whatever its answer
        wrote = (  # what the account stores changes only through Lambda's own writes
            g.get("signed_for") == "lambda"
            and request.method in ("POST", "PUT", "DELETE")
            and response.status_code < 400
        )
        services().usage.request(caller.account_id, wrote=wrote)
    return response


def _signed_request() -> sigv4.SignedRequest:
    environ = request.environ
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        raw_path, _, raw_query = raw.partition("?")
    else:
        raw_path, raw_query = (
            environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
    return sigv4.SignedRequest(
        method=request.method,
        raw_path=raw_path,
        raw_query=raw_query,
        headers=request.headers,
        payload_sha256=body_sha256(),
    )
