"""Building responses shared by the route modules."""

from __future__ import annotations

from flask import Response, json, request

from registry.api.context import services


def json_response(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)


def page(key: str, items: list, next_marker: str | None) -> Response:
    """A list response; NextMarker only when more remain, or paginators would loop forever."""
    body = {key: items}
    if next_marker:
        body["NextMarker"] = next_marker
    return json_response(body)


def download_url(digest: str, filename: str) -> str:
    """Content.Location / Code.Location: valid 10 minutes, on the configured public address, else
    on the host the caller reached."""
    base_url = services().settings.public_url or f"{request.scheme}://{request.host}"
    return services().store.download_url(digest, base_url=base_url, filename=filename)
