"""Signing in with an access key id and secret key, and signing out."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for

from registry.api.context import services
from registry.client_address import FORWARDED_FOR, client_address
from registry.console.blueprint import PREFIX, bp
from registry.console.guard import console, start_session
from registry.console.sessions import secret_matches
from registry.console.sign_outs import record_sign_out


@bp.get("/")
def home():
    if g.console_signed_in is None:
        return redirect(url_for("console.sign_in"))
    return redirect(url_for("console.layers"))


@bp.get("/sign-in")
def sign_in():
    return render_template("console/sign_in.html", next=_next(), error=None, key_id="")


@bp.post("/sign-in")
def sign_in_post():
    key_id = request.form.get("access_key_id", "").strip()[:128]
    secret = request.form.get("secret_access_key", "")[:256]
    address = client_address(
        request.remote_addr or "",
        request.headers.getlist(FORWARDED_FOR),
        services().settings.trusted_proxies,
    )
    failures = console().failures
    wait = failures.retry_after(key_id, address)
    if wait:
        page = render_template(
            "console/sign_in.html",
            next=_next(),
            key_id=key_id,
            error=f"Too many failed sign-ins. Try again in {_minutes(wait)}.",
        )
        return page, 429, {"Retry-After": str(wait)}
    record = services().keys.find(key_id) if key_id else None
    if not secret_matches(record, secret):
        failures.failed(key_id, address)
        page = render_template(
            "console/sign_in.html",
            next=_next(),
            key_id=key_id,
            error="The access key id or secret key is not right.",
        )
        return page, 401
    # A fresh nonce: neither a cookie planted before sign-in nor its CSRF token carries over.
    start_session(console().codec.new(record, key_id))
    return redirect(_next(), code=303)


@bp.post("/sign-out")
def sign_out():
    if g.console_signed_in is not None:
        record_sign_out(services().db, g.console_session)
    start_session(console().codec.new())
    return redirect(url_for("console.sign_in"), code=303)


def _next() -> str:
    """Where to go after signing in: a console page only, never another site."""
    target = request.values.get("next") or ""
    if target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.layers")


def _minutes(seconds: int) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
