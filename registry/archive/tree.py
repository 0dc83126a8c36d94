"""The overlay rules (`Tree`): one archive with duplicate names is overlaid on itself with exactly
the rules a stack of layers uses, so `check_zip` and the merge engine agree."""

from __future__ import annotations

from dataclasses import dataclass

from registry.archive.entries import DIR, SYMLINK

# --- the overlay rules -------------------------------------------------------------------------


@dataclass(slots=True)
class Node:
    kind: str
    source: int  # who provided it: an entry index in one archive, an input index in a merge
    explicit: bool = True  # False for a directory only implied by the paths below it
    data: object = None  # the ZipEntry, or the merge engine's file record


class Tree:
    """Paths mapped to nodes, under the overlay rules (a later `put` wins).

    - file over file: replaced; directory over file and file over directory: replaced, with the
      whole subtree; directory over directory: merged.
    - a path below a symlink is refused (it would write through the link); a directory entry
      named exactly like the symlink replaces it.
    `put` returns what it displaced, so callers can report shadowed paths and duplicates.
    """

    def __init__(self) -> None:
        self.nodes: dict[str, Node] = {}
        self._children: dict[str, set[str]] = {"": set()}

    def put(self, path: str, node: Node) -> list[tuple[str, Node]]:
        displaced: list[tuple[str, Node]] = []
        parent = path.rpartition("/")[0]
        if parent:
            above = self.nodes.get(parent)
            if above is None or above.kind != DIR:
                self._make_dirs(parent, node.source, displaced)
        existing = self.nodes.get(path)
        if existing is None:
            self._insert(path, node)
        elif existing.kind == DIR and node.kind == DIR:
            existing.explicit = existing.explicit or node.explicit
        elif existing.kind == SYMLINK and node.kind == DIR and not node.explicit:
            raise ValueError(f"would write through the symlink {path!r}")
        else:
            displaced.extend(self._remove(path))
            self._insert(path, node)
        return displaced

    def link_target(self, path: str) -> str | None:
        node = self.nodes.get(path)
        return node.data if node is not None and node.kind == SYMLINK else None

    def _make_dirs(self, path: str, source: int, displaced: list) -> None:
        prefix = ""
        for part in path.split("/"):
            prefix = f"{prefix}/{part}" if prefix else part
            existing = self.nodes.get(prefix)
            if existing is not None and existing.kind == DIR:
                continue
            if existing is not None:
                if existing.kind == SYMLINK:
                    raise ValueError(f"would write through the symlink {prefix!r}")
                displaced.extend(self._remove(prefix))
            self._insert(prefix, Node(DIR, source, explicit=False))

    def _insert(self, path: str, node: Node) -> None:
        self.nodes[path] = node
        self._children[path.rpartition("/")[0]].add(path)
        if node.kind == DIR:
            self._children[path] = set()

    def _remove(self, path: str) -> list[tuple[str, Node]]:
        removed = []
        stack = [path]
        while stack:
            current = stack.pop()
            removed.append((current, self.nodes.pop(current)))
            stack.extend(self._children.pop(current, ()))
        self._children[path.rpartition("/")[0]].discard(path)
        removed.sort(key=lambda item: item[0])
        return removed
