"""What every console request goes through: the session its cookie names (and the account signed
in with it), the CSRF check of every form that changes anything, and the headers that keep the
pages out of caches and frames."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from urllib.parse import quote

from flask import current_app, g, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from registry.api import errors as api_errors
from registry.api.context import services
from registry.console.blueprint import PREFIX, bp
from registry.console.overlay_trees import OverlayTrees
from registry.console.sessions import COOKIE, SESSION_SECONDS, SessionCodec, SignedIn
from registry.console.sign_outs import signed_out
from registry.console.signin_limits import SignInFailures
from registry.errors import AccessDenied, ResourceNotFound, StrataError
from registry.functions.overlay import FunctionOverlays
from registry.functions.overlay_warming import OverlayWarmer
from registry.layers.contents import LayerContents
from registry.layers.warming import ContentsWarmer

FAILURES_FILE = "console-signin-failures"
log = logging.getLogger(__name__)


@dataclass
class Console:
    codec: SessionCodec
    failures: SignInFailures
    contents: LayerContents
    overlays: FunctionOverlays
    warmer: ContentsWarmer
    overlay_warmer: OverlayWarmer
    overlay_trees: OverlayTrees

    @classmethod
    def from_settings(cls, settings, store) -> Console:
        contents = LayerContents(store, settings.cache_dir)
        overlays = FunctionOverlays(store, settings.cache_dir, contents.packages)
        return cls(
            SessionCodec.from_settings(settings),
            SignInFailures(settings.data_dir / FAILURES_FILE),
            contents,
            overlays,
            ContentsWarmer(contents),
            OverlayWarmer(overlays),
            OverlayTrees(overlays),
        )


def console() -> Console:
    return current_app.extensions["strata_console"]


@bp.before_request
def load_session():
    if request.endpoint == "console.static":
        return None
    codec = console().codec
    session, fingerprint = codec.read(request.cookies.get(COOKIE))
    g.console_signed_in = None
    if session is not None and session.access_key_id is not None:
        record = services().keys.find(session.access_key_id)
        # A deleted or rotated key ends its sessions, as signing out ends those from before it.
        if codec.still_valid(fingerprint, record) and not signed_out(services().db, session):
            g.console_signed_in = SignedIn(record.caller, session.access_key_id)
        else:
            session = None
    if session is None:
        start_session(codec.new())
    else:
        g.console_session = session
    body = request.environ.get("wsgi.input")
    if request.method == "POST" and getattr(body, "withheld", False):
        # The server front refused to read it (larger than the console takes, or too many large
        # bodies arriving at once): the form is not there to check.
        busy = getattr(body, "throttled", False)
        message = (
            "The server is busy receiving other requests; try again shortly."
            if busy
            else "The form is larger than the console accepts."
        )
        return render_template("console/error.html", message=message), 429 if busy else 413
    if request.method == "POST" and not codec.csrf_valid(
        g.console_session, request.form.get("csrf_token")
    ):
        return render_template("console/refused.html"), 403
    return None


def start_session(cookie: str) -> None:
    """Use `cookie` from this request on, and send it with the answer."""
    g.console_session, _ = console().codec.read(cookie)
    g.console_cookie = cookie


@bp.after_request
def finish(response):
    cookie = g.get("console_cookie")
    if cookie is not None:
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=SESSION_SECONDS,
            path=PREFIX,
            secure=_over_https(),
            httponly=True,
            samesite="Lax",
        )
    if request.endpoint != "console.static":
        # Pages show an account's data: no shared cache keeps them, and no other site frames them.
        response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; "
        "base-uri 'none'"
    )
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.context_processor
def page_context():
    session = g.get("console_session")
    return {
        "signed_in": g.get("console_signed_in"),
        "csrf_token": console().codec.csrf_token(session) if session is not None else "",
    }


def signed_in(view):
    """The view runs for a signed-in account (`caller` passed to it); others are sent to sign in
    and brought back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        who = g.get("console_signed_in")
        if who is None:
            back = request.full_path if request.query_string else request.path
            return redirect(url_for("console.sign_in") + "?next=" + quote(back, safe="/"))
        return view(who.caller, *args, **kwargs)

    return wrapper


def _over_https() -> bool:
    return request.scheme == "https" or services().settings.public_url.startswith("https://")


@bp.errorhandler(404)
@bp.errorhandler(ResourceNotFound)
@bp.errorhandler(AccessDenied)
def not_found(_error):
    # As the API answers a layer the account may not read: nothing tells it apart from one that
    # does not exist.
    return render_template("console/not_found.html"), 404


@bp.errorhandler(Exception)
def failed(error: Exception):
    if isinstance(error, HTTPException):
        return error
    if isinstance(error, StrataError):
        return refused(error)
    log.exception("Console request failed (request id %s)", g.get("request_id"))
    message = f"Something went wrong on the server. Request id: {g.get('request_id')}."
    return render_template("console/error.html", message=message), 500


@bp.errorhandler(StrataError)
def refused(error: StrataError):
    aws = api_errors.lookup(error)
    status = aws.status if aws is not None else 400
    return render_template("console/error.html", message=str(error)), status
