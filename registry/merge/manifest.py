"""bundle.json: what a bundle holds, where each path came from, and what it shadowed.

Entries are sorted by path, carry no time and no machine path, and the tree digest covers only
the tree itself (type, path, mode, size, content or target of every file and symlink, and every
empty directory), so identical inputs give an identical document on any machine.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from pathlib import Path

from registry.archive.entries import DIR, FILE, SYMLINK
from registry.errors import InvalidParameterValue
from registry.merge.cache import CachedArchive
from registry.merge.overlay import Overlay

FORMAT = "strata-bundle/1"
_MODES = {0o644: "0644", 0o755: "0755"}
BUNDLE_FILE = "bundle.json"


@dataclass(frozen=True)
class InputRecord:
    id: str  # "layer:1" .. "layer:5" in merge order, or "function"
    role: str
    name: str
    arn: str | None
    sha256: str
    cached: CachedArchive


def build_document(
    inputs: list[InputRecord], roots: dict[str, Overlay], runtime: str | None
) -> tuple[dict, list[str]]:
    """The document, and its entries already encoded for `dumps` (formatted while the entries
    are built: a bundle holds thousands, and every pass over them shows)."""
    entries: list[dict] = []
    encoded: list[str] = []
    digest_lines: list[str] = []
    totals = {"files": 0, "symlinks": 0, "directories": 0, "bytes": 0}
    ids = [record.id for record in inputs]
    for root, result in sorted(roots.items()):  # entries come out sorted by path
        _add_root(root, result, ids, entries, encoded, digest_lines, totals)
    tree_sha256 = hashlib.sha256(
        "".join(digest_lines).encode("utf-8", "surrogateescape")
    ).hexdigest()
    return {
        "format": FORMAT,
        "runtime": runtime,
        "inputs": [
            {
                "id": r.id,
                "role": r.role,
                "name": r.name,
                "arn": r.arn,
                "sha256": r.sha256,
                "bytes": r.cached.summary.archive_bytes,
                "unzipped_bytes": r.cached.summary.unzipped_bytes,
                "entries": r.cached.summary.entries,
            }
            for r in inputs
        ],
        "totals": totals,
        "tree_sha256": tree_sha256,
        "entries": entries,
        "shadowed": _shadowed(inputs, roots),
        "duplicates": _duplicates(inputs),
    }, encoded


def _add_root(
    root: str,
    result: Overlay,
    ids: list[str],
    entries: list[dict],
    encoded: list[str],
    digest_lines: list[str],
    totals: dict[str, int],
) -> None:
    """One root's (task/ or opt/) entries, encoded entries, digest lines and totals."""
    nodes = result.nodes
    empty = set(result.empty_directories())
    for path in result.paths:
        node = nodes[path]
        source = ids[node.source]
        full = f"{root}/{path}"
        if node.kind == FILE:
            _, _, mode, size, sha256, _ = node.data  # a CachedNode
            mode = _MODES.get(mode) or f"{mode:04o}"
            entries.append(
                {
                    "path": full,
                    "type": FILE,
                    "mode": mode,
                    "size": size,
                    "sha256": sha256,
                    "source": source,
                }
            )
            encoded.append(
                f'{{"path":{encode_basestring(full)},"type":"file","mode":"{mode}",'
                f'"size":{size},"sha256":"{sha256}","source":"{source}"}}'
            )
            digest_lines.append(f"file\0{full}\0{mode}\0{size}\0{sha256}\n")
            totals["files"] += 1
            totals["bytes"] += size
        elif node.kind == SYMLINK:
            # Like git, a symlink's content is its target: size and sha256 are the target's.
            target = node.data.encode("utf-8", "surrogateescape")
            entries.append(
                {
                    "path": full,
                    "type": SYMLINK,
                    "mode": "0777",
                    "size": len(target),
                    "sha256": hashlib.sha256(target).hexdigest(),
                    "target": node.data,
                    "source": source,
                }
            )
            encoded.append(_ENCODE_ITEM(entries[-1]))
            digest_lines.append(f"symlink\0{full}\0{node.data}\n")
            totals["symlinks"] += 1
        else:
            totals["directories"] += 1
            if path in empty:
                entries.append({"path": full, "type": DIR, "mode": "0755", "source": source})
                encoded.append(_ENCODE_ITEM(entries[-1]))
                digest_lines.append(f"dir\0{full}\n")


def _shadowed(inputs: list[InputRecord], roots: dict[str, Overlay]) -> list[dict]:
    """Every path an input lost to a later one, sorted by path."""
    shadowed = [
        {
            "path": f"{root}/{s.path}",
            "type": s.kind,
            "lost": inputs[s.lost].id,
            "won": inputs[s.won].id,
            "by": f"{root}/{s.by}",
        }
        for root, result in sorted(roots.items())
        for s in result.shadowed
    ]
    shadowed.sort(key=lambda entry: (entry["path"], entry["lost"]))
    return shadowed


def _duplicates(inputs: list[InputRecord]) -> list[dict]:
    """Paths an archive holds more than once (its last copy wins)."""
    duplicates = []
    for record in inputs:
        root = "task" if record.role == "function" else "opt"
        duplicates.extend(
            {"path": f"{root}/{path}", "source": record.id}
            for path in record.cached.summary.duplicates
        )
    return duplicates


_ENCODE_ITEM = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(document: dict, encoded_entries: list[str]) -> str:
    """JSON with one list item per line: readable, diffable, and fast."""
    parts = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(encoded_entries if key == "entries" else map(_ENCODE_ITEM, value))
            parts.append(f"{json.dumps(key)}: [\n  {items}\n]")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def load(path: Path) -> dict:
    """Read a bundle.json, given it or the bundle directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / BUNDLE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
    except (OSError, ValueError) as exc:
        raise InvalidParameterValue(f"{path}: not a readable bundle.json ({exc})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidParameterValue(f"{path}: not a {FORMAT} document")
    return document
