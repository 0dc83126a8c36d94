"""Build the realistic 5-layer set the merge benchmarks and checks use.

Downloads wheels for requests, numpy, pandas, pydantic and their dependencies for the running
interpreter, installs each group with `pip install --target python/` (the way Lambda layers are
usually built, bytecode included) and zips it with Info-ZIP `zip -r`, the way most layers are
packed. The fifth layer overrides a few files of the others, as a patch layer does. Output:
bench/corpus/layer{1..5}.zip (git-ignored; about 6,000 files, 160 MB unzipped, 52 MB zipped).

    python bench/merge_corpus.py [--out bench/corpus]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

LAYERS = {
    "layer1-requests": ["requests", "urllib3", "idna", "certifi", "charset-normalizer"],
    "layer2-numpy": ["numpy"],
    "layer3-pandas": ["pandas", "python-dateutil", "pytz", "tzdata", "six"],
    "layer4-pydantic": [
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-extensions",
        "typing-inspection",
    ],
}
TOP_LEVEL = ["requests", "numpy", "pandas", "pydantic"]


def pip(*args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True
    )


def downloaded(wheels: Path) -> set[str]:
    return {wheel.name.split("-")[0].lower().replace("_", "-") for wheel in wheels.glob("*.whl")}


def build_layer(wheels: Path, packages: list[str], staging: Path, out_zip: Path) -> None:
    # Dependencies come and go between releases (pandas 3 dropped pytz): install those present.
    present = downloaded(wheels)
    packages = [name for name in packages if name in present]
    staging.mkdir(parents=True)
    pip(
        "install",
        "--no-deps",
        "--no-index",
        "--find-links",
        str(wheels),
        "--target",
        str(staging / "python"),
        *packages,
    )
    zip_tree(staging, out_zip)


def zip_tree(root: Path, out_zip: Path) -> None:
    out_zip.unlink(missing_ok=True)
    subprocess.run(
        ["zip", "-q", "-r", "-X", "-y", str(out_zip.resolve()), "."], cwd=root, check=True
    )


def build_override_layer(staging: Path, out_zip: Path) -> None:
    """Layer 5: patched copies of a few modules of layers 1-4, and a tool in bin/."""
    python = staging / "python"
    overrides = {
        "requests/__version__.py": '__title__ = "requests"\n__version__ = "2.99.0+patched"\n',
        "dateutil/__init__.py": '"""Patched dateutil."""\n',
        "numpy/version.py": 'version = "0.0.0+patched"\n__version__ = version\n',
        "typing_extensions.py": "from typing import *  # patched\n",
        "certifi/cacert.pem": "# patched CA bundle\n",
    }
    for relative, text in overrides.items():
        path = python / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    tool = staging / "bin" / "layer-info"
    tool.parent.mkdir(parents=True)
    tool.write_text("#!/bin/sh\necho patched layer\n")
    tool.chmod(0o755)
    zip_tree(staging, out_zip)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    args = parser.parse_args()
    out: Path = args.out
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    pip("download", "--only-binary=:all:", "-d", str(wheels), *TOP_LEVEL)
    with tempfile.TemporaryDirectory(dir=out) as scratch:
        for number, (name, packages) in enumerate(LAYERS.items(), start=1):
            build_layer(wheels, packages, Path(scratch) / name, out / f"layer{number}.zip")
        build_override_layer(Path(scratch) / "layer5-overrides", out / "layer5.zip")
    total = 0
    for number in range(1, 6):
        zipped = (out / f"layer{number}.zip").stat().st_size
        total += zipped
        print(f"layer{number}.zip  {zipped / 1e6:6.1f} MB")
    print(f"total      {total / 1e6:6.1f} MB zipped")


if __name__ == "__main__":
    os.umask(0o022)
    main()
