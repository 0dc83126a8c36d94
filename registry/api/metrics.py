"""GET /metrics, and the HTTP requests it counts.

Every request the application answers is counted by operation and status, and timed, from a hook
that runs before authentication (so refused requests count too) and one after the response is
made. A request that reaches the metrics listener (STRATA_METRICS_BIND) for anything but
/metrics is answered 404 before it reaches the Lambda API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, g, request

from registry.api.context import Services
from registry.api.operations import operation_of_request
from registry.metrics import exposition, instruments
from registry.metrics.access import MetricsAccess, Verdict, refusal_message
from registry.metrics.cluster import ClusterCollector
from registry.metrics.environments import EnvironmentGauges
from registry.metrics.front import FrontAnswers
from registry.metrics.invocations import InvocationMetrics
from registry.metrics.labels import FunctionLabels

bp = Blueprint("metrics", __name__)

PATH = "/metrics"
_STATUS = {Verdict.NO_TOKEN: 401, Verdict.WRONG_TOKEN: 401, Verdict.ELSEWHERE: 404}
# Lambda operations that store new code, by the kind of publish they count as.
_PUBLISHES = {
    "PublishLayerVersion": "layer_version",
    "CreateFunction": "function_code",
    "UpdateFunctionCode": "function_code",
    "PublishVersion": "function_version",
}


@dataclass
class _Metrics:
    access: MetricsAccess
    environments: EnvironmentGauges
    cluster: ClusterCollector


def install(app: Flask, wired: Services) -> None:
    """Subscribes to the invoker, starts copying the environments into gauges, and counts every
    request from hooks that run before any other (call before registering the app's own), and
    those the front answers itself."""
    labels = FunctionLabels()
    InvocationMetrics(labels).subscribe(wired.invoker.observers)
    environments = EnvironmentGauges(wired.invoker.pool, labels)
    environments.start()
    app.extensions["strata_metrics"] = _Metrics(
        MetricsAccess.from_settings(wired.settings), environments, ClusterCollector(wired.db)
    )
    app.before_request(_start)
    app.after_request(_count)
    app.front_answers = FrontAnswers()  # what the front answers itself (registry/front)
    app.register_blueprint(bp)


def _state() -> _Metrics:
    return current_app.extensions["strata_metrics"]


def _start():
    g.metrics_started = time.perf_counter()
    access = _state().access
    if access.bind and request.path != PATH and _on_metrics_listener(access):
        return Response("Only /metrics is served at this address.\n", 404, mimetype="text/plain")
    return None


def _count(response: Response) -> Response:
    started = g.get("metrics_started")
    service, operation = operation_of_request()
    instruments.HTTP_REQUESTS.labels(service, operation, str(response.status_code)).inc()
    if started is not None:
        instruments.HTTP_DURATION.labels(service, operation).observe(time.perf_counter() - started)
    kind = _PUBLISHES.get(operation) if service == "lambda" else None
    caller = g.get("caller")
    if kind and caller is not None and response.status_code < 300:
        instruments.PUBLISHES.labels(caller.account_id, kind).inc()
    return response


@bp.get(PATH)
def metrics():
    state = _state()
    verdict = state.access.verdict(
        request.headers.get("Authorization"), _on_metrics_listener(state.access)
    )
    if verdict is not Verdict.ALLOWED:
        response = Response(
            refusal_message(verdict) + "\n", _STATUS.get(verdict, 403), mimetype="text/plain"
        )
        if response.status_code == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="strata metrics"'
        return response
    state.environments.refresh()  # this worker's own figures, as of now
    body, content_type = exposition.scrape(request.headers.get("Accept"), state.cluster)
    return Response(body, content_type=content_type)


def _on_metrics_listener(access: MetricsAccess) -> bool:
    environ = request.environ
    return access.on_metrics_listener(
        environ.get("SERVER_NAME", ""), str(environ.get("SERVER_PORT", ""))
    )
