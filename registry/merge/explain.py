"""Answers about a bundle: where a path came from, and how two bundles differ."""

from __future__ import annotations


def normalise_query(path: str) -> str:
    """Accept bundle paths ("opt/python/x.py") and Lambda paths ("/opt/...", "/var/task/...")."""
    path = path.strip()
    if path.startswith("/var/task"):
        path = "task" + path[len("/var/task") :]
    return path.strip("/")


def explain(document: dict, path: str) -> list[str]:
    """Lines saying what is at `path`, which input provided it, and what it shadowed."""
    wanted = normalise_query(path)
    inputs = {record["id"]: record for record in document["inputs"]}

    def label(source: str) -> str:
        return f"{source} ({inputs[source]['name']})" if source in inputs else source

    lines = []
    entry = next((e for e in document["entries"] if e["path"] == wanted), None)
    if entry is not None:
        if entry["type"] == "file":
            what = f"file {entry['mode']}, {entry['size']} bytes, sha256 {entry['sha256']}"
        elif entry["type"] == "symlink":
            what = f"symlink -> {entry['target']}"
        else:
            what = "empty directory"
        lines.append(f"{wanted}: {what}, from {label(entry['source'])}")
    elif any(e["path"].startswith(wanted + "/") for e in document["entries"]):
        sources = sorted(
            {e["source"] for e in document["entries"] if e["path"].startswith(wanted + "/")}
        )
        lines.append(f"{wanted}: directory, with content from {', '.join(map(label, sources))}")
    for shadow in document["shadowed"]:
        if shadow["path"] != wanted:
            continue
        if shadow["by"] == wanted:
            lines.append(f"  shadows the {shadow['type']} from {label(shadow['lost'])}")
        else:
            lines.append(
                f"{wanted}: the {shadow['type']} from {label(shadow['lost'])} was removed "
                f"when {label(shadow['won'])} put {shadow['by']} in its place"
            )
    for duplicate in document["duplicates"]:
        if duplicate["path"] == wanted:
            lines.append(
                f"  {label(duplicate['source'])} holds this name more than once; its last entry won"
            )
    if not lines:
        lines.append(f"{wanted}: not in this bundle")
    return lines


def diff(old: dict, new: dict) -> list[str]:
    """Lines "+ path", "- path" and "~ path (what changed)" from `old` to `new`, sorted by path."""
    before = {entry["path"]: entry for entry in old["entries"]}
    after = {entry["path"]: entry for entry in new["entries"]}
    lines = []
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a is None:
            lines.append(f"+ {path}")
        elif b is None:
            lines.append(f"- {path}")
        else:
            changed = [
                key
                for key in ("type", "mode", "size", "sha256", "target")
                if a.get(key) != b.get(key)
            ]
            if changed:
                lines.append(
                    f"~ {path} ({', '.join(changed)}; from {a['source']} -> {b['source']})"
                )
    return lines
