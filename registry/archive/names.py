"""Entry names and symlink targets of untrusted archives: normalised, refused when they could
leave the root or mean two things, and symlinks followed the way the kernel follows them."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable

# --- names -------------------------------------------------------------------------------------

# Hosts whose separator is the backslash (APPNOTE 4.4.2: MS-DOS/OS2 FAT, NTFS, VFAT).
_WINDOWS_HOSTS = frozenset({0, 11, 14})
_DRIVE = re.compile(r"^[A-Za-z]:")
# Relative ASCII names whose components cannot be empty, "." or ".." (none starts with a dot)
# and hold no separator, drive colon or NUL; at 255 characters they are within every length cap.
_PLAIN = re.compile(r"[\w+-][\w.+-]*(?:/[\w+-][\w.+-]*)*/?", re.ASCII)
_MAX_PATH_BYTES = 4095
_MAX_DEPTH = 128
_MAX_LINK_HOPS = 40  # Linux's own limit on symlinks followed in one lookup


def normalise_name(name: str, host: int) -> tuple[str, bool]:
    """Return (relative POSIX path, names-a-directory) or raise ValueError saying why not.

    A backslash is a separator only in names written on Windows/DOS hosts, which use no other;
    anywhere else it is an ordinary character on Linux but a separator on Windows, and an archive
    that means different things to different tools is refused.
    """
    if len(name) <= 255 and _PLAIN.fullmatch(name):
        return name.rstrip("/"), name.endswith("/")  # the common case, provably safe as it is
    if "\x00" in name:
        raise ValueError("name contains a NUL byte")
    if "\\" in name:
        if host not in _WINDOWS_HOSTS:
            raise ValueError("backslash in a name not written on Windows (ambiguous separator)")
        name = name.replace("\\", "/")
    if name.startswith("/"):
        raise ValueError("absolute path")
    if _DRIVE.match(name):
        raise ValueError("drive letter")
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if ".." in parts:
        raise ValueError("'..' component")
    if len(parts) > _MAX_DEPTH:
        raise ValueError(f"deeper than {_MAX_DEPTH} directories")
    path = "/".join(parts)
    if len(path.encode("utf-8", "surrogateescape")) > _MAX_PATH_BYTES:
        raise ValueError(f"path longer than {_MAX_PATH_BYTES} bytes")
    if any(len(part.encode("utf-8", "surrogateescape")) > 255 for part in parts):
        raise ValueError("path component longer than 255 bytes")
    return path, name.endswith("/")


def check_link_target(target: str) -> None:
    if not target:
        raise ValueError("empty symlink target")
    if "\x00" in target:
        raise ValueError("symlink target contains a NUL byte")
    if target.startswith("/") or _DRIVE.match(target):
        raise ValueError(f"symlink target {target!r} is absolute")
    if "\\" in target:
        raise ValueError(f"symlink target {target!r} contains a backslash (ambiguous separator)")


def link_stays_inside(path: str, target: str, links: Callable[[str], str | None]) -> bool:
    """Whether following `target` from the symlink at `path` stays inside the tree's root.

    Resolves component by component like the kernel does, following other symlinks of the tree
    (`links(path)` returns a path's target or None), so chains that leave the root are caught;
    a string prefix test or a purely lexical one would miss them.
    """
    resolved = path.split("/")[:-1]
    pending = deque(target.split("/"))
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return False
            resolved.pop()
            continue
        resolved.append(part)
        next_target = links("/".join(resolved))
        if next_target is not None:
            hops += 1
            if hops > _MAX_LINK_HOPS or next_target.startswith("/"):
                return False
            resolved.pop()
            pending.extendleft(reversed(next_target.split("/")))
    return True
