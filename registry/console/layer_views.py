"""Layers: the list (own and shared), a layer's versions, a version with its grants, file tree and
download, and the forms that grant, revoke and delete."""

from __future__ import annotations

import json
import re
import secrets
import time

from flask import Response, abort, redirect, render_template, request, url_for

from registry import validation
from registry.api.context import services
from registry.api.responses import download_url
from registry.console.blueprint import bp
from registry.console.file_tree import build_tree, folder_at, shown_inline
from registry.console.guard import console, signed_in
from registry.errors import InvalidParameterValue, ResourceNotFound
from registry.inventory.cyclonedx import bill_of_materials
from registry.layers.arns import LayerRef
from registry.paging import MAX_ITEMS

ARCHITECTURES = ("x86_64", "arm64")
# Own layers read for the list and its search; past this the list says it stops.
MAX_LISTED = 1000
# How long a version page waits for a listing being computed before it answers without it, so
# that with the listing's decoding and its tree (15 ms for 6,000 files) it stays well within the
# console's 150 ms for a page.
LISTING_WAIT_S = 0.05
VERSIONS_PER_PAGE = 50
# Past this many files and folders, a version's tree is browsed a folder per page.
_ACCOUNT = re.compile(r"\d{12}")
_DONE = {
    "granted": "Access granted.",
    "revoked": "Access removed.",
}


@bp.get("/layers")
@signed_in
def layers(caller):
    runtime = _choice(request.args.get("runtime"), validation.RUNTIMES)
    architecture = _choice(request.args.get("architecture"), ARCHITECTURES)
    query = (request.args.get("q") or "").strip()[:140]
    own, complete = _own_layers(caller, runtime, architecture)
    shared = services().layers.list_shared_layers(
        caller, runtime=runtime, architecture=architecture
    )
    rows = [(caller.account_id, item, "own") for item in own] + [
        (item.layer_arn.split(":")[4], item, "shared") for item in shared
    ]
    if query:
        rows = [row for row in rows if query.lower() in row[1].name.lower()]
    return render_template(
        "console/layers.html",
        rows=rows,
        complete=complete,
        query=query,
        runtime=runtime,
        architecture=architecture,
        runtimes=sorted(validation.RUNTIMES),
        architectures=ARCHITECTURES,
        caller=caller,
    )


@bp.get("/layers/<owner>/<name>")
@signed_in
def layer(caller, owner, name):
    ref = _ref(owner, name)
    marker = request.args.get("marker") or None
    try:
        found = services().layers.list_versions(
            caller, ref, marker=marker, max_items=VERSIONS_PER_PAGE
        )
    except InvalidParameterValue:  # a forged marker
        abort(404)
    if not found.items:
        # An unknown layer and one shared with nobody here both list nothing, as the API does.
        raise ResourceNotFound(f"Layer {name} does not exist.")
    versions = [services().layers.get_version(caller, ref, item.version) for item in found.items]
    return render_template(
        "console/layer.html",
        owner=owner,
        name=name,
        versions=versions,
        next_marker=found.next_marker,
        own=owner == caller.account_id,
    )


@bp.get("/layers/<owner>/<name>/<int:version>")
@signed_in
def layer_version(caller, owner, name, version):
    ref = _ref(owner, name)
    view = services().layers.get_version(caller, ref, version)
    own = owner == caller.account_id
    pending = not _listing_ready(view.digest)
    tree = None if pending else build_tree(console().contents.files(view.digest))
    return render_template(
        "console/layer_version.html",
        view=view,
        owner=owner,
        own=own,
        grants=_grants(caller, ref, version) if own else [],
        pending=pending,
        tree=tree,
        inline=tree is not None and shown_inline(tree),
        packages=None if pending else console().contents.packages(view.digest),
        download=download_url(view.digest, f"{view.name}-{view.version}.zip"),
        done=_DONE.get(request.args.get("done", "")),
    )


@bp.get("/layers/<owner>/<name>/<int:version>/files")
@signed_in
def layer_version_folder(caller, owner, name, version):
    view = services().layers.get_version(caller, _ref(owner, name), version)
    folder = folder_at(
        build_tree(console().contents.files(view.digest)),
        (request.args.get("dir") or "").strip("/"),
    )
    if folder is None:
        abort(404)
    return render_template("console/layer_folder.html", view=view, owner=owner, folder=folder)


@bp.get("/layers/<owner>/<name>/<int:version>/sbom.cdx.json")
@signed_in
def layer_version_sbom(caller, owner, name, version):
    view = services().layers.get_version(caller, _ref(owner, name), version)
    document = bill_of_materials(
        console().contents.packages(view.digest),
        layer_arn=view.layer_version_arn,
        name=view.name,
        version=view.version,
        sha256=view.digest,
        created=view.created_at,
    )
    return Response(
        json.dumps(document, indent=2),
        mimetype="application/vnd.cyclonedx+json",
        headers={"Content-Disposition": f'attachment; filename="{name}-{version}.cdx.json"'},
    )


@bp.post("/layers/<owner>/<name>/<int:version>/grants")
@signed_in
def add_grant(caller, owner, name, version):
    ref = _own_ref(caller, owner, name)
    kind = request.form.get("kind")
    organization_id = None
    if kind == "account":
        principal = request.form.get("account_id", "").strip()
        if not _ACCOUNT.fullmatch(principal):
            raise InvalidParameterValue("An account id is exactly 12 digits.")
    elif kind == "organization":
        principal = "*"
        organization_id = request.form.get("organization_id", "").strip()
    elif kind == "public":
        principal = "*"
    else:
        raise InvalidParameterValue(
            "Choose whom to grant access to: an account, an organization or everyone."
        )
    statement_id = request.form.get("statement_id", "").strip() or f"console-{secrets.token_hex(4)}"
    services().layers.add_permission(
        caller,
        ref,
        version,
        statement_id=statement_id,
        action="lambda:GetLayerVersion",
        principal=principal,
        organization_id=organization_id,
    )
    return _back_to_version(owner, name, version, "granted")


@bp.get("/layers/<owner>/<name>/<int:version>/grants/<statement_id>/remove")
@signed_in
def confirm_remove_grant(caller, owner, name, version, statement_id):
    ref = _own_ref(caller, owner, name)
    grant = next((g for g in _grants(caller, ref, version) if g["sid"] == statement_id), None)
    if grant is None:
        raise ResourceNotFound(f"Statement {statement_id} is not found in resource policy.")
    return render_template(
        "console/confirm_remove_grant.html", owner=owner, name=name, version=version, grant=grant
    )


@bp.post("/layers/<owner>/<name>/<int:version>/grants/<statement_id>/remove")
@signed_in
def remove_grant(caller, owner, name, version, statement_id):
    services().layers.remove_permission(
        caller, _own_ref(caller, owner, name), version, statement_id
    )
    return _back_to_version(owner, name, version, "revoked")


@bp.get("/layers/<owner>/<name>/<int:version>/delete")
@signed_in
def confirm_delete_version(caller, owner, name, version):
    view = services().layers.get_version(caller, _own_ref(caller, owner, name), version)
    return render_template("console/confirm_delete_version.html", view=view, owner=owner)


@bp.post("/layers/<owner>/<name>/<int:version>/delete")
@signed_in
def delete_version(caller, owner, name, version):
    ref = _own_ref(caller, owner, name)
    services().layers.get_version(caller, ref, version)  # a missing version answers 404
    services().layers.delete_version(caller, ref, version)
    return redirect(url_for("console.layers"), code=303)


def _listing_ready(digest: str) -> bool:
    """Whether the version's listing can be shown now. One not computed yet (the version was
    published a moment ago, on another node, or before the server had a cache) is computed in
    the background; the page waits a little for it, then says it is being read and reloads,
    rather than holding the request for as long as a large zip takes."""
    contents = console().contents
    if contents.cached(digest):
        return True
    if not console().warmer.submit(digest):
        return True  # the background is full: the page computes it itself, as it always could
    deadline = time.monotonic() + LISTING_WAIT_S
    while time.monotonic() < deadline:
        time.sleep(0.01)
        if contents.cached(digest):
            return True
    return False


def _own_layers(caller, runtime, architecture) -> tuple[list, bool]:
    """The account's layers, page by page, up to MAX_LISTED; and whether that was all of them."""
    items, marker = [], None
    while True:
        found = services().layers.list_layers(
            caller,
            runtime=runtime,
            architecture=architecture,
            marker=marker,
            max_items=MAX_ITEMS,
        )
        items += found.items
        marker = found.next_marker
        if not marker:
            return items, True
        if len(items) >= MAX_LISTED:
            return items, False


def _grants(caller, ref: LayerRef, version: int) -> list[dict]:
    try:
        document, _revision = services().layers.get_policy(caller, ref, version)
    except ResourceNotFound:  # no policy yet: nobody else may read it
        services().layers.get_version(caller, ref, version)
        return []
    grants = []
    for statement in json.loads(document)["Statement"]:
        principal = statement["Principal"]
        organization = (
            statement.get("Condition", {}).get("StringEquals", {}).get("aws:PrincipalOrgID")
        )
        if organization:
            whom = f"every account of organization {organization}"
        elif principal == "*":
            whom = "everyone (public)"
        else:
            whom = f"account {principal['AWS'].split(':')[4]}"
        grants.append({"sid": statement["Sid"], "whom": whom})
    return grants


def _ref(owner: str, name: str) -> LayerRef:
    if not _ACCOUNT.fullmatch(owner) or not validation.LAYER_NAME.fullmatch(name):
        abort(404)
    return LayerRef(name=name, account_id=owner)


def _own_ref(caller, owner: str, name: str) -> LayerRef:
    """Only the owning account changes a layer; to another, the page does not exist."""
    ref = _ref(owner, name)
    if owner != caller.account_id:
        abort(404)
    return ref


def _choice(value: str | None, allowed) -> str | None:
    return value if value in allowed else None


def _back_to_version(owner: str, name: str, version: int, done: str):
    return redirect(
        url_for("console.layer_version", owner=owner, name=name, version=version, done=done),
        code=303,
    )
