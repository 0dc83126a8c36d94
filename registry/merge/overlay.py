"""The overlay of ordered inputs into final trees: who wins each path, and who lost it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from registry.errors import InvalidZip
from registry.zips import DIR, SYMLINK, Node, Tree, link_stays_inside


@dataclass(frozen=True)
class Shadowed:
    path: str  # the path that lost, relative to its root
    kind: str
    lost: int  # input index
    won: int
    by: str  # the path whose arrival displaced it (an ancestor when a subtree was replaced)


@dataclass
class Overlay:
    tree: Tree
    shadowed: list[Shadowed]


def overlay(inputs: Sequence[Iterable[tuple[str, Node]]], names: Sequence[str]) -> Overlay:
    """Apply each input's nodes in order (later inputs win) and check the symlinks of the result.

    `inputs[i]` yields (path, node) with `node.source == i`, parents before children; `names[i]`
    names the archive in errors.
    """
    tree = Tree()
    shadowed: list[Shadowed] = []
    for index, nodes in enumerate(inputs):
        for path, node in nodes:
            try:
                displaced = tree.put(path, node)
            except ValueError as exc:
                raise InvalidZip(f"{exc} placed by an earlier layer", archive=names[index], entry=path) from None
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
    return Overlay(tree, shadowed)


def empty_directories(tree: Tree) -> list[str]:
    return [path for path, node in tree.nodes.items() if node.kind == DIR and tree.is_empty_dir(path)]
