"""Check that the merge of the realistic 5-layer set equals `unzip -o` applied in order.

    python bench/merge_corpus.py          # once: builds bench/corpus/layer{1..5}.zip
    python bench/check_merge_corpus.py

Compares every path, type, content and symlink target of BUNDLE/opt with the directory that
`unzip -o -q` of the five layers in order produces. Modes are compared after the documented
normalisation (0755 when any execute bit is set, else 0644; directories 0755). Also checks that
bundle.json lists exactly the files on disk with their real sha256. Exits 1 on any difference.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import subprocess
import sys
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from registry.merge import MergeInput, merge  # noqa: E402


def snapshot(root: Path) -> dict[str, tuple]:
    tree = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            info = path.lstat()
            relative = path.relative_to(root).as_posix()
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("symlink", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir",)
            else:
                mode = 0o755 if info.st_mode & 0o111 else 0o644
                tree[relative] = (
                    "file",
                    mode,
                    info.st_size,
                    hashlib.sha256(path.read_bytes()).hexdigest(),
                )
    return tree


def main() -> int:
    zips = [BENCH / "corpus" / f"layer{i}.zip" for i in range(1, 6)]
    if not all(z.exists() for z in zips):
        print("missing bench/corpus/layer*.zip: run bench/merge_corpus.py first")
        return 2
    work = BENCH / "out" / f"check-{uuid.uuid4().hex[:8]}"
    try:
        reference = work / "unzip"
        reference.mkdir(parents=True)
        for archive in zips:
            subprocess.run(["unzip", "-o", "-q", str(archive), "-d", str(reference)], check=True)
        document = merge([MergeInput(z) for z in zips], work / "bundle", cache_dir=work / "cache")
        merged, expected = snapshot(work / "bundle" / "opt"), snapshot(reference)
        problems = [f"only in unzip: {p}" for p in sorted(expected.keys() - merged.keys())]
        problems += [f"only in merge: {p}" for p in sorted(merged.keys() - expected.keys())]
        problems += [
            f"differs: {p}: merge {merged[p]} unzip {expected[p]}"
            for p in sorted(merged.keys() & expected.keys())
            if merged[p] != expected[p]
        ]
        listed = {e["path"][len("opt/") :]: e for e in document["entries"] if e["type"] == "file"}
        on_disk = {p: v for p, v in merged.items() if v[0] == "file"}
        problems += [
            f"bundle.json disagrees with the tree: {p}"
            for p in sorted(listed.keys() ^ on_disk.keys())
        ]
        problems += [
            f"bundle.json sha256 wrong: {p}"
            for p in sorted(listed.keys() & on_disk.keys())
            if listed[p]["sha256"] != on_disk[p][3] or int(listed[p]["mode"], 8) != on_disk[p][1]
        ]
        files = sum(1 for v in merged.values() if v[0] == "file")
        size = sum(v[2] for v in merged.values() if v[0] == "file")
        print(
            f"merged tree: {files} files, {size / 1e6:.1f} MB, "
            f"{len(document['shadowed'])} shadowed; "
            f"tree sha256 {document['tree_sha256']}"
        )
        for line in problems[:50]:
            print(line)
        print("equal to unzip -o in order" if not problems else f"{len(problems)} differences")
        return 1 if problems else 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
