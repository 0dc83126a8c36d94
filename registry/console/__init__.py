"""The web console: server-rendered pages under /console/ for browsing layers and functions.

blueprint.py   the blueprint the view modules share
sessions.py    the signed session cookie and the CSRF token
sign_outs.py   when each access key last signed out: its sessions from before, refused on every node
signin_limits.py  failed sign-ins counted per key id and per address, shared by a node's workers
guard.py       every console request: its session, its CSRF check, its security headers
auth_views.py  sign-in and sign-out
layer_views.py  layers, versions, grants, file trees
function_views.py  functions, their versions, aliases and layers, and test invokes
activity_views.py  a function's recent invocations and chart, and the account's usage
activity_chart.py  the chart's geometry

Pages call the same domain services as the Lambda API with the signed-in account as the caller,
so they show exactly what the account may read through the API.
"""

from __future__ import annotations

from flask import Flask

from registry.console import (  # noqa: F401
    activity_views,
    auth_views,
    function_views,
    guard,
    layer_views,
)
from registry.console.blueprint import PREFIX, bp
from registry.console.guard import Console

# Forms are small; a test-invoke payload is the largest thing the console posts.
MAX_FORM_BYTES = 256 * 1024


def register(app: Flask, settings, store) -> None:
    app.extensions["strata_console"] = wired = Console.from_settings(settings, store)
    # A version's file tree and packages are computed as it is published, off the request's
    # path, so that its first page view only reads them.
    app.extensions["strata"].layers.on_published(wired.warmer.submit)
    # Likewise a function's overlay, once its bundle is prepared.
    app.extensions["strata"].preparer.on_prepared(wired.overlay_warmer.submit)
    app.register_blueprint(bp)


def body_allowance(method: str, path: str) -> int:
    """How much body an unsigned request may send: console forms only."""
    if method == "POST" and path.startswith(f"{PREFIX}/"):
        return MAX_FORM_BYTES
    return 0
