"""Rules of the source layout that a reader relies on, checked on the import statements."""

from __future__ import annotations

import ast
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
