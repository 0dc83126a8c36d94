"""Caps on what untrusted archives may unpack to, and the checks that hold archives to them."""

from __future__ import annotations

from dataclasses import dataclass

from registry.archive.entries import ZipSummary
from registry.errors import InvalidZip
from registry.limits import MAX_UNZIPPED_BYTES, MiB


@dataclass(frozen=True)
class ZipLimits:
    """Caps on what archives may unpack to; AWS Lambda's values where AWS publishes one."""

    # AWS: function code plus all layers, unzipped.
    max_unzipped_bytes: int = MAX_UNZIPPED_BYTES
    # AWS publishes no entry cap. The largest real layers (scientific Python stacks) hold about
    # 30,000 files; 100,000 leaves room for them while bounding the memory a central directory
    # may cost and the inodes one archive may create. It caps central directory records and,
    # separately, the tree's nodes: every path plus every directory the paths imply (a record
    # 128 directories deep is one entry but can create 128 directories), per archive and over
    # the union of a function and its layers.
    max_entries: int = 100_000
    # The characters of all those nodes' paths together. A tree is held in memory path by path
    # while it is checked or merged; 100,000 nodes of 4,000-character paths would cost GBs, real
    # trees average under 100 characters a path.
    max_path_chars: int = 32 * MiB
    # Deflate tops out near 1,030:1 and real files rarely pass 20:1; 100:1 on one entry (or 50:1
    # over a whole archive) is the signature of a bomb.
    max_entry_ratio: float = 100.0
    max_total_ratio: float = 50.0
    # Ratios of small data mean nothing (4 KiB of zeros deflates 200:1), so they apply above this.
    ratio_floor_bytes: int = 1 * MiB


# --- the node budget ---------------------------------------------------------------------------


class NodeBudget:
    """Counts the distinct nodes trees would hold: each path added and every parent directory it
    implies, whether or not an entry names it, and the characters of their paths. `add` says
    False as soon as either count passes its limit, so a tree of millions of implied directories
    is refused after `limits.max_entries` steps; `refusal` then says which limit it passed.

    Paths are remembered by their hash, not their text: 100,000 paths of up to 4,095 bytes would
    otherwise hold hundreds of MB. A collision (the hash is keyed per process) can only
    under-count by one, never refuse a tree within the budget. Trees named by `root` are counted
    apart but against the same limits (a merge's opt/ and task/).
    """

    def __init__(self, limits: ZipLimits):
        self.limits = limits
        self.nodes = 0
        self.path_chars = 0
        self._seen: dict[str, set[int]] = {}

    def add(self, path: str, root: str = "") -> bool:
        seen = self._seen.get(root)
        if seen is None:
            seen = self._seen[root] = set()
        while path:
            key = hash(path)
            if key in seen:
                break  # and so are its parents: they were counted with it
            seen.add(key)
            self.nodes += 1
            self.path_chars += len(path)
            if self.nodes > self.limits.max_entries or self.path_chars > self.limits.max_path_chars:
                return False
            path = path.rpartition("/")[0]
        return True

    def refusal(self) -> str:
        if self.nodes > self.limits.max_entries:
            return (
                f"more than the limit of {self.limits.max_entries} files, directories and "
                "symlinks, counting every directory the entries' paths imply"
            )
        return (
            f"paths of more than {self.limits.max_path_chars} characters in all, counting every "
            "directory the entries' paths imply"
        )


def enforce_limits(summary: ZipSummary, limits: ZipLimits, archive: str) -> None:
    """Hold a summary recorded earlier (under other limits, perhaps) to these limits."""
    if summary.entries > limits.max_entries:
        raise InvalidZip(
            f"{summary.entries} entries, more than the limit of {limits.max_entries}",
            archive=archive,
        )
    if summary.files + summary.dirs + summary.symlinks > limits.max_entries:
        raise InvalidZip(
            f"more than the limit of {limits.max_entries} files, directories and symlinks",
            archive=archive,
        )
    if summary.unzipped_bytes > limits.max_unzipped_bytes:
        raise InvalidZip(
            f"unzips to {summary.unzipped_bytes} bytes, more than the limit of "
            f"{limits.max_unzipped_bytes}",
            archive=archive,
        )
    if summary.max_entry_ratio > limits.max_entry_ratio:
        raise InvalidZip(
            f"an entry's compression ratio {summary.max_entry_ratio:.0f}:1 is above the limit",
            archive=archive,
        )
    if summary.unzipped_bytes > limits.ratio_floor_bytes and summary.unzipped_bytes > (
        limits.max_total_ratio * max(summary.archive_bytes, 1)
    ):
        raise InvalidZip("compression ratio is above the limit (zip bomb?)", archive=archive)
