"""The overlay of ordered inputs into final trees: who wins each path, and who lost it."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from registry.archive.entries import DIR, FILE, SYMLINK
from registry.archive.names import link_stays_inside
from registry.archive.tree import Node, Tree
from registry.errors import InvalidZip


@dataclass(frozen=True)
class Shadowed:
    path: str  # the path that lost, relative to its root
    kind: str
    lost: int  # input index
    won: int
    by: str  # the path whose arrival displaced it (an ancestor when a subtree was replaced)


@dataclass
class Overlay:
    nodes: dict[str, Node]  # the winners; parents come before their children
    shadowed: list[Shadowed]

    @cached_property
    def paths(self) -> list[str]:  # sorted
        return sorted(self.nodes)

    def empty_directories(self) -> list[str]:
        paths = self.paths
        empty = []
        for path, node in self.nodes.items():
            if node.kind == DIR:
                below = bisect_left(paths, path + "/")
                if below == len(paths) or not paths[below].startswith(path + "/"):
                    empty.append(path)
        return empty


def overlay(inputs: Sequence[Sequence[tuple[str, Node]]], names: Sequence[str]) -> Overlay:
    """Apply each input's nodes in order (later inputs win) and check the symlinks of the result.

    `inputs[i]` holds (path, node) with `node.source == i`, sorted by path, every directory
    present (parents before children); `names[i]` names the archive in errors.
    """
    return _without_conflicts(inputs) or _by_the_rules(inputs, names)


def _without_conflicts(inputs: Sequence[Sequence[tuple[str, Node]]]) -> Overlay | None:
    """The common case in bulk: inputs meet only as file over file and directory over directory,
    and hold no symlinks. Then the overlay is a dict update, a file over a file is the only loss,
    and there is nothing to check. None when the rules must be applied node by node."""
    nodes: dict[str, Node] = {}
    shadowed: list[Shadowed] = []
    for index, items in enumerate(inputs):
        incoming = dict(items)
        kept: list[tuple[str, Node]] = []
        for path in sorted(nodes.keys() & incoming.keys()):
            old, new = nodes[path], incoming[path]
            if old.kind != new.kind or old.kind == SYMLINK:
                return None
            if old.kind == FILE:
                shadowed.append(Shadowed(path, FILE, old.source, index, path))
            else:  # directories merge: the first one stays, named if any input names it
                kept.append((path, Node(DIR, old.source, old.explicit or new.explicit, old.data)))
        if any(node.kind == SYMLINK for node in incoming.values()):
            return None
        nodes.update(incoming)
        nodes.update(kept)
    return Overlay(nodes, shadowed)


def _by_the_rules(inputs: Sequence[Sequence[tuple[str, Node]]], names: Sequence[str]) -> Overlay:
    tree = Tree()
    shadowed: list[Shadowed] = []
    for index, nodes in enumerate(inputs):
        for path, node in nodes:
            try:
                displaced = tree.put(path, node)
            except ValueError as exc:
                raise InvalidZip(
                    f"{exc} placed by an earlier layer", archive=names[index], entry=path
                ) from None
            shadowed.extend(
                Shadowed(lost_path, lost.kind, lost.source, index, path)
                for lost_path, lost in displaced
            )
    for path, node in tree.nodes.items():
        if node.kind == SYMLINK and not link_stays_inside(path, node.data, tree.link_target):
            raise InvalidZip(
                f"symlink to {node.data!r} leads outside the merged tree",
                archive=names[node.source],
                entry=path,
            )
    return Overlay(tree.nodes, shadowed)
