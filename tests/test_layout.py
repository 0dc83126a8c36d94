"""Rules of the source layout that a reader relies on, checked on the import statements."""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function (relative imports resolved
    against the file's package)."""
    package = path.relative_to(REPO).with_suffix("").parts[:-1]
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1]) if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            modules.add(module)
            modules.update(f"{module}.{alias.name}" for alias in node.names)
    return modules


def importers_of(top_level: str, under: str) -> list[str]:
    return sorted(
        path.relative_to(REPO).as_posix()
        for path in (REPO / under).rglob("*.py")
        if any(m == top_level or m.startswith(top_level + ".") for m in imported_modules(path))
    )


def test_only_the_s3_backend_imports_minio():
    importers = {
        path
        for under in ("registry", "storage", "migrations")
        for path in importers_of("minio", under)
    }
    assert importers == {"storage/s3.py"}


def test_storage_imports_nothing_from_the_registry():
    assert importers_of("registry", "storage") == []


def test_the_checks_see_imports_inside_functions():
    # storage/__init__.py imports its backends only when one is opened.
    assert "storage.s3.S3BlobStore" in imported_modules(REPO / "storage" / "__init__.py")


MAX_MODULE_LINES = 450


def test_no_module_of_the_registry_or_storage_is_over_450_lines():
    long = {
        path.relative_to(REPO).as_posix(): lines
        for under in ("registry", "storage")
        for path in (REPO / under).rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def _architecture_picture() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Architecture", 1)[1]
    return section.split("```", 2)[1].splitlines()


def _named_paths(picture: list[str]) -> set[str]:
    """Each file and directory the picture names, as a path from the repository's root: a line
    starting at column 0 names a top-level entry, one indented by two an entry inside it, and
    deeper-indented lines go on describing the entry above them."""
    named, top, current = set(), "", ""
    for line in picture:
        name = line.split(maxsplit=1)[0].rstrip(",") if line.strip() else ""
        if line[:1].strip():
            top = current = name.rstrip("/")
            named.add(current)
        elif line[:2] == "  " and line[2:3].strip():
            current = f"{top}/{name.rstrip('/')}"
            named.add(current)
        base = current if (REPO / current).is_dir() else str(Path(current).parent)
        for module in re.findall(r"\b(\w+\.py)\b", line):
            named.add(f"{base}/{module}".lstrip("./"))
    return named


def test_the_readme_architecture_names_only_what_exists():
    named = _named_paths(_architecture_picture())
    assert len(named) > 50  # the parser found the picture
    assert sorted(path for path in named if not (REPO / path).exists()) == []


def test_every_package_of_the_registry_is_in_the_readme_architecture():
    named = _named_paths(_architecture_picture())
    packages = {
        path.parent.relative_to(REPO).as_posix()
        for path in (REPO / "registry").glob("*/__init__.py")
    }
    assert sorted(packages - named) == []
