"""Functions: the list, a function's configuration, versions, aliases and layers, and the
test-invoke form."""

from __future__ import annotations

import json
import re

from flask import abort, g, render_template, request

from registry.api.context import services
from registry.console.blueprint import bp
from registry.console.file_tree import folder_at, shown_inline
from registry.console.guard import console, signed_in
from registry.functions.names import parse_function_name
from registry.invocations.invoke import LOG_TAIL_BYTES
from registry.paging import MAX_ITEMS

# The console names only the account's own functions, by plain name.
_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


@bp.get("/functions")
@signed_in
def functions(caller):
    found = services().functions.list_functions(
        caller, marker=request.args.get("marker") or None, max_items=MAX_ITEMS
    )
    return render_template(
        "console/functions.html", functions=found.items, next_marker=found.next_marker
    )


@bp.get("/functions/<name>")
@signed_in
def function(caller, name):
    return _function_page(caller, name)


@bp.get("/functions/<name>/overlay")
@signed_in
def function_overlay(caller, name):
    view, report, tree, source = _overlay(caller, name)
    return render_template(
        "console/function_overlay.html",
        view=view,
        inputs=report.inputs,
        names=[item["name"] for item in report.inputs],
        source=source,
        tree=tree,
        inline=shown_inline(tree),
        shadowed=report.shadowed,
        conflicts=report.conflicts,
        unmet=report.unmet,
    )


@bp.get("/functions/<name>/overlay/files")
@signed_in
def function_overlay_folder(caller, name):
    view, _report, tree, source = _overlay(caller, name)
    folder = folder_at(tree, (request.args.get("dir") or "").strip("/"))
    if folder is None:
        abort(404)
    return render_template("console/overlay_folder.html", view=view, folder=folder, source=source)


def _overlay(caller, name: str):
    """The function version's overlay report, its merged tree and each path's input's name."""
    check_name(name)
    ref = parse_function_name(name, request.args.get("qualifier") or None, region=_region())
    view = services().functions.get_granted(caller, ref, "lambda:GetFunction")
    shown = console().overlay_trees.of(view)
    return view, shown.report, shown.tree, shown.source


@bp.post("/functions/<name>/invoke")
@signed_in
def test_invoke(caller, name):
    check_name(name)
    payload = request.form.get("payload", "").strip() or "{}"
    qualifier = request.form.get("qualifier", "").strip() or None
    try:
        json.loads(payload)
    except ValueError as exc:
        return _function_page(
            caller, name, payload=payload, invoke_error=f"The payload is not JSON: {exc}."
        ), 400
    ref = parse_function_name(name, qualifier, region=services().settings.region)
    invocation = services().invoker.invoke(
        caller, ref, payload.encode(), request_id=g.get("request_id")
    )
    result = invocation.result
    return _function_page(
        caller,
        name,
        payload=payload,
        qualifier=qualifier or "",
        result={
            "executed_version": invocation.executed_version,
            "payload": _pretty(result.payload),
            "function_error": result.function_error,
            "outcome": result.outcome,
            "logs": result.logs.encode()[-LOG_TAIL_BYTES:].decode(errors="replace"),
            "report": result.report,
        },
    )


def _function_page(caller, name: str, **form):
    check_name(name)
    ref = parse_function_name(name, region=services().settings.region)
    view = services().functions.get_granted(caller, ref, "lambda:GetFunction")
    versions = services().functions.list_versions(caller, ref, max_items=MAX_ITEMS)
    aliases = services().functions.list_aliases(caller, ref, max_items=MAX_ITEMS)
    return render_template(
        "console/function.html",
        view=view,
        versions=versions.items,
        more_versions=bool(versions.next_marker),
        aliases=aliases.items,
        layers=[_layer_link(layer) for layer in view.layers],
        payload=form.get("payload", '{\n  "hello": "world"\n}'),
        qualifier=form.get("qualifier", ""),
        invoke_error=form.get("invoke_error"),
        result=form.get("result"),
    )


def _region() -> str:
    return services().settings.region


def check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        abort(404)


def _layer_link(layer: dict) -> dict:
    """A layer ARN split into what the layer version page's address needs."""
    parts = layer["arn"].split(":")
    return {
        "arn": layer["arn"],
        "code_size": layer["code_size"],
        "owner": parts[4],
        "name": parts[6],
        "version": int(parts[7]),
    }


def _pretty(payload: bytes) -> str:
    try:
        return json.dumps(json.loads(payload), indent=2)
    except ValueError:
        return payload.decode(errors="replace")
