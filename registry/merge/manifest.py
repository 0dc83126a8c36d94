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

from registry.errors import InvalidParameterValue
from registry.merge.cache import CachedArchive, CachedNode
from registry.merge.overlay import Overlay, empty_directories
from registry.zips import DIR, FILE, SYMLINK

FORMAT = "strata-bundle/1"
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
) -> dict:
    entries: list[dict] = []
    shadowed: list[dict] = []
    duplicates: list[dict] = []
    totals = {"files": 0, "symlinks": 0, "directories": 0, "bytes": 0}
    for root, result in roots.items():
        tree = result.tree
        empty = set(empty_directories(tree))
        for path, node in tree.nodes.items():
            source = inputs[node.source].id
            if node.kind == FILE:
                cached: CachedNode = node.data
                entries.append({"path": f"{root}/{path}", "type": FILE, "mode": f"{cached.mode:04o}",
                                "size": cached.size, "sha256": cached.digest, "source": source})
                totals["files"] += 1
                totals["bytes"] += cached.size
            elif node.kind == SYMLINK:
                # Like git, a symlink's content is its target: size and sha256 are the target's.
                target = node.data.encode("utf-8", "surrogateescape")
                entries.append({"path": f"{root}/{path}", "type": SYMLINK, "mode": "0777",
                                "size": len(target), "sha256": hashlib.sha256(target).hexdigest(),
                                "target": node.data, "source": source})
                totals["symlinks"] += 1
            else:
                totals["directories"] += 1
                if path in empty:
                    entries.append({"path": f"{root}/{path}", "type": DIR, "mode": "0755",
                                    "source": source})
        shadowed.extend(
            {"path": f"{root}/{s.path}", "type": s.kind, "lost": inputs[s.lost].id,
             "won": inputs[s.won].id, "by": f"{root}/{s.by}"}
            for s in result.shadowed
        )
    for record in inputs:
        root = "task" if record.role == "function" else "opt"
        duplicates.extend(
            {"path": f"{root}/{path}", "source": record.id} for path in record.cached.summary.duplicates
        )
    entries.sort(key=lambda entry: entry["path"])
    shadowed.sort(key=lambda entry: (entry["path"], entry["lost"]))
    return {
        "format": FORMAT,
        "runtime": runtime,
        "inputs": [
            {"id": r.id, "role": r.role, "name": r.name, "arn": r.arn, "sha256": r.sha256,
             "bytes": r.cached.summary.archive_bytes, "unzipped_bytes": r.cached.summary.unzipped_bytes,
             "entries": r.cached.summary.entries}
            for r in inputs
        ],
        "totals": totals,
        "tree_sha256": tree_digest(entries),
        "entries": entries,
        "shadowed": shadowed,
        "duplicates": duplicates,
    }


def tree_digest(entries: list[dict]) -> str:
    digest = hashlib.sha256()
    for entry in entries:
        if entry["type"] == FILE:
            line = f"file\0{entry['path']}\0{entry['mode']}\0{entry['size']}\0{entry['sha256']}\n"
        elif entry["type"] == SYMLINK:
            line = f"symlink\0{entry['path']}\0{entry['target']}\n"
        else:
            line = f"dir\0{entry['path']}\n"
        digest.update(line.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


_ENCODE_ITEM = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _encode_entry(entry: dict) -> str:
    """One entry as compact JSON; formatted directly because a bundle holds thousands of them
    and the generic encoder costs ten times as much. Only paths and targets need escaping."""
    kind = entry["type"]
    path = encode_basestring(entry["path"])
    if kind == FILE:
        return (f'{{"path":{path},"type":"file","mode":"{entry["mode"]}","size":{entry["size"]},'
                f'"sha256":"{entry["sha256"]}","source":"{entry["source"]}"}}')
    if kind == SYMLINK:
        return (f'{{"path":{path},"type":"symlink","mode":"0777","size":{entry["size"]},'
                f'"sha256":"{entry["sha256"]}","target":{encode_basestring(entry["target"])},'
                f'"source":"{entry["source"]}"}}')
    return _ENCODE_ITEM(entry)


def dumps(document: dict) -> str:
    """JSON with one list item per line: readable, diffable, and fast."""
    parts = []
    for key, value in document.items():
        if isinstance(value, list) and value:
            items = ",\n  ".join(map(_encode_entry if key == "entries" else _ENCODE_ITEM, value))
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
