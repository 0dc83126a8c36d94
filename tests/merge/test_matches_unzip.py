"""The merged opt/ equals what `unzip -o` applied layer by layer produces, apart from the
documented mode normalisation (0755 if any execute bit, else 0644)."""

import os
import shutil
import subprocess

from registry.merge import merge
from tests.archive.build import Dir, File, Link
from tests.merge.trees import read_tree
from tests.support import require_service


def normalised(tree):
    out = {}
    for path, value in tree.items():
        if value[0] == "file":
            out[path] = ("file", 0o755 if value[1] & 0o111 else 0o644, value[2])
        elif value[0] == "dir":
            out[path] = ("dir",)
        else:
            out[path] = value
    return out


def test_merge_equals_unzip_o_in_order(tmp_path, layer, cache_dir):
    require_service(shutil.which("unzip") is not None, "the unzip tool is not installed")
    layers = [
        layer(
            "requests.zip",
            *[File(f"python/requests/m{i}.py", os.urandom(500)) for i in range(30)],
            File("python/requests/__init__.py", b"version = 1\n"),
            Dir("python/requests/empty"),
        ),
        layer(
            "native.zip",
            File("lib/libx.so.1", os.urandom(4000), mode=0o755),
            Link("lib/libx.so", "libx.so.1"),
            File("bin/tool", b"#!/bin/sh\necho 1\n", mode=0o750),
            File("python/requests/m3.py", b"native\n"),
        ),
        layer(
            "data.zip",
            *[File(f"python/data/d{i}.json", b'{"x": %d}\n' % i * 50) for i in range(40)],
            File("lib/readme.txt", b"text", mode=0o600),
        ),
        layer(
            "patch.zip",
            File("python/requests/__init__.py", b"version = 2\n"),
            File("bin/tool", b"#!/bin/sh\necho 2\n", mode=0o755),
            File("python/data/d7.json", b"{}\n"),
        ),
    ]
    reference = tmp_path / "unzipped"
    reference.mkdir()
    for item in layers:
        subprocess.run(["unzip", "-o", "-q", str(item.path), "-d", str(reference)], check=True)
    merge(layers, tmp_path / "bundle", cache_dir=cache_dir)
    assert normalised(read_tree(tmp_path / "bundle/opt")) == normalised(read_tree(reference))
