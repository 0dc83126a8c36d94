"""Extension endpoints beside the Lambda API: health, readiness and signed blob downloads."""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, current_app, json, request
from werkzeug.wsgi import wrap_file

from registry.api.context import services
from registry.api.readiness import ReadinessProbes, answer, checks_of
from registry.errors import ResourceNotFound
from registry.executor.runtime_access import node_report
from storage.capabilities import DOWNLOAD_ROUTE, SignedDownloads

bp = Blueprint("ext", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return Response('{"status":"ok"}', mimetype="application/json")


@bp.get("/readyz")
def readyz():
    isolation = node_report(services().invoker.pool.host, services().settings.executor_isolation)
    body, ready = answer(_readiness().run(), isolation)
    return Response(json.dumps(body), status=200 if ready else 503, mimetype="application/json")


def _readiness() -> ReadinessProbes:
    with _READINESS_LOCK:
        probes = current_app.extensions.get("strata_readiness")
        if probes is None:
            probes = ReadinessProbes(checks_of(services()))
            current_app.extensions["strata_readiness"] = probes
        return probes


_READINESS_LOCK = threading.Lock()


@bp.get(DOWNLOAD_ROUTE + "<digest>")
def download_blob(digest):
    """Serves a blob to the holder of a URL signed by the filesystem backend (Content.Location)."""
    store = services().store
    if not isinstance(store, SignedDownloads):
        raise ResourceNotFound(
            "This server hands out storage URLs directly; no blob is served here."
        )
    store.verify_download(digest, request.args)
    size = store.stat(digest).size
    start, end, status = 0, size, 200
    ranges = request.range
    if ranges is not None and ranges.units == "bytes" and len(ranges.ranges) == 1:
        bounds = ranges.range_for_length(size)
        if bounds is None:
            return Response(status=416, headers={"Content-Range": f"bytes */{size}"})
        start, end, status = bounds[0], bounds[1], 206
    stream = store.open(digest, start=start, end=end)
    response = Response(
        wrap_file(request.environ, stream, buffer_size=1024 * 1024),
        status=status,
        mimetype="application/zip",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(end - start)
    response.headers["Accept-Ranges"] = "bytes"
    response.headers["ETag"] = f'"{digest}"'
    if status == 206:
        response.headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    filename = request.args.get("filename")
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
