"""The packages a layer installs: Python distributions by their `*.dist-info/METADATA` (and
RECORD) under python/, Node.js packages by their `package.json` in a node_modules directory under
nodejs/. Only metadata files are read, each held to a small size: nothing is imported or run."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from email.parser import HeaderParser

from registry.archive.entries import FILE
from registry.archive.reader import Archive, Layout

PYPI, NPM = "pypi", "npm"
# A metadata file larger than this is not read (real ones are a few KB; a RECORD of a large
# distribution a few hundred).
MAX_METADATA_BYTES = 2 * 1024 * 1024
_DIST_INFO = re.compile(r"python/(?:.+/)?(?P<dir>[^/]+\.dist-info)/METADATA")
_PACKAGE_JSON = re.compile(
    r"nodejs/(?:.+/)?node_modules/(?P<name>(?:@[^/]+/)?[^/@.][^/]*)/package\.json"
)
_CLASSIFIER_LICENSE = "License :: "


@dataclass(frozen=True)
class Package:
    ecosystem: str  # pypi | npm
    name: str
    version: str
    license: str | None
    summary: str
    requires: tuple[str, ...]  # Requires-Dist lines; npm "name@range" dependencies
    path: str  # the dist-info directory or the package's directory inside the layer
    files: int | None = None  # the files its RECORD lists (Python)

    def to_json(self) -> dict:
        return {**self.__dict__, "requires": list(self.requires)}

    @classmethod
    def from_json(cls, data: dict) -> Package:
        return cls(**{**data, "requires": tuple(data["requires"])})


def find_packages(archive: Archive, layout: Layout) -> list[Package]:
    """Every package the archive's final tree installs, by ecosystem, name and path."""
    found = []
    nodes = layout.tree.nodes
    for path, node in nodes.items():
        if node.kind != FILE:
            continue
        if match := _DIST_INFO.fullmatch(path):
            metadata = _text(archive, node.data)
            if metadata is None:
                continue
            directory = path.rpartition("/")[0]
            record = nodes.get(f"{directory}/RECORD")
            record_text = _text(archive, record.data) if record and record.kind == FILE else None
            found.append(_python(metadata, directory, match["dir"], record_text))
        elif match := _PACKAGE_JSON.fullmatch(path):
            document = _text(archive, node.data)
            package = (
                _nodejs(document, path.rpartition("/")[0], match["name"]) if document else None
            )
            if package is not None:
                found.append(package)
    return sorted(found, key=lambda p: (p.ecosystem, p.name.lower(), p.path))


def _text(archive: Archive, entry) -> str | None:
    if entry.size > MAX_METADATA_BYTES:
        return None
    return b"".join(archive.iter_data(entry)).decode("utf-8", errors="replace")


def _python(metadata: str, directory: str, dir_name: str, record: str | None) -> Package:
    message = HeaderParser().parsestr(metadata)
    fallback_name, _, fallback_version = dir_name[: -len(".dist-info")].partition("-")
    requires = tuple(_one_line(r) for r in message.get_all("Requires-Dist") or ())
    return Package(
        PYPI,
        _one_line(message.get("Name") or fallback_name),
        _one_line(message.get("Version") or fallback_version),
        _python_license(message),
        _one_line(message.get("Summary") or ""),
        requires,
        directory,
        len([line for line in record.splitlines() if line.strip()]) if record else None,
    )


def _python_license(message) -> str | None:
    """License-Expression (PEP 639), else the License field's first line, else the license
    classifiers."""
    expression = message.get("License-Expression")
    if expression:
        return _one_line(expression)
    text = (message.get("License") or "").strip()
    if text and text.upper() != "UNKNOWN":
        return _one_line(text.splitlines()[0])[:200]
    classifiers = [
        c.rpartition(" :: ")[2]
        for c in message.get_all("Classifier") or ()
        if c.startswith(_CLASSIFIER_LICENSE) and c.count(" :: ") >= 2
    ]
    return ", ".join(classifiers) or None


def _nodejs(document: str, directory: str, dir_name: str) -> Package | None:
    try:
        data = json.loads(document)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    license_field = data.get("license")
    if isinstance(license_field, dict):
        license_field = license_field.get("type")
    dependencies = data.get("dependencies")
    requires = (
        tuple(f"{name}@{spec}" for name, spec in dependencies.items() if isinstance(spec, str))
        if isinstance(dependencies, dict)
        else ()
    )
    return Package(
        NPM,
        _string(data.get("name")) or dir_name,
        _string(data.get("version")),
        _string(license_field) or None,
        _string(data.get("description")),
        requires,
        directory,
    )


def _string(value) -> str:
    return _one_line(value) if isinstance(value, str) else ""


def _one_line(value: str) -> str:
    return " ".join(str(value).split())
