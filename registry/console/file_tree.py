"""A flat, sorted list of a layer's paths turned into nested folders for the page to show."""

from __future__ import annotations

from dataclasses import dataclass, field

from registry.archive.entries import DIR
from registry.layers.contents import FileEntry


@dataclass
class Folder:
    name: str
    path: str
    mode: int = 0o755
    folders: list[Folder] = field(default_factory=list)
    files: list[FileEntry] = field(default_factory=list)
    size: int = 0  # bytes of every file below
    count: int = 0  # files and symlinks below


def build_tree(entries: list[FileEntry]) -> Folder:
    """The root folder; each folder lists its subfolders, then its files and symlinks, by name."""
    root = Folder("", "")
    folders = {"": root}
    for entry in sorted(entries, key=lambda e: e.path):
        parent = _folder(folders, entry.path.rpartition("/")[0])
        if entry.kind == DIR and entry.path in folders:
            folders[entry.path].mode = entry.mode
        elif entry.kind == DIR:
            folder = Folder(entry.path.rpartition("/")[2], entry.path, entry.mode)
            folders[entry.path] = folder
            parent.folders.append(folder)
        else:
            parent.files.append(entry)
    _total(root)
    return root


def _folder(folders: dict[str, Folder], path: str) -> Folder:
    """The folder at `path`, made (with its ancestors) when no entry listed it."""
    found = folders.get(path)
    if found is None:
        parent = _folder(folders, path.rpartition("/")[0])
        found = folders[path] = Folder(path.rpartition("/")[2], path)
        parent.folders.append(found)
    return found


def _total(root: Folder) -> None:
    """Sizes and counts summed bottom up, without recursion (paths may nest deeply)."""
    order, stack = [], [root]
    while stack:
        folder = stack.pop()
        order.append(folder)
        stack.extend(folder.folders)
    for folder in reversed(order):
        folder.size = sum(f.size for f in folder.files) + sum(s.size for s in folder.folders)
        folder.count = len(folder.files) + sum(s.count for s in folder.folders)


# A larger tree is shown a folder at a time (its own pages), so no page renders thousands.
INLINE_TREE_ENTRIES = 1000


def shown_inline(root: Folder) -> bool:
    """Whether the whole tree, files and folders, is small enough for one page."""
    count, stack = root.count, list(root.folders)
    while stack and count <= INLINE_TREE_ENTRIES:
        folder = stack.pop()
        count += 1
        stack.extend(folder.folders)
    return count <= INLINE_TREE_ENTRIES


def folder_at(root: Folder, path: str) -> Folder | None:
    """The folder at a path like "python/numpy", or None."""
    folder = root
    for part in path.split("/") if path else ():
        folder = next((sub for sub in folder.folders if sub.name == part), None)
        if folder is None:
            return None
    return folder


def basename(path: str) -> str:
    return path.rpartition("/")[2]
