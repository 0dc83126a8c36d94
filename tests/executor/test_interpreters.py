"""Finding the host interpreter for python3.N: configurable, absolute, never substituted."""

import sys

import pytest

from registry.executor.errors import InterpreterNotFound
from registry.executor.interpreters import find_node, find_python, node_env_name
from tests.support import require_service


def test_find_python__configured_path_wins(tmp_path):
    found = find_python("3.11", {"STRATA_PYTHON_3_11": sys.executable})
    assert found.path.is_absolute() and found.path.name.startswith("python3")


def test_find_python__missing_version_is_a_clear_error(tmp_path):
    with pytest.raises(InterpreterNotFound, match="STRATA_PYTHON_3_99"):
        find_python("3.99", {"PYENV_ROOT": str(tmp_path)})


def test_find_python__relative_configured_path_is_refused():
    with pytest.raises(InterpreterNotFound, match="absolute"):
        find_python("3.11", {"STRATA_PYTHON_3_11": "python3.11"})


# ---- Node.js ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def some_node():
    """(major, path) of a node this machine has."""
    from tests.support.nodejs import PRESENT

    require_service(bool(PRESENT), "no Node.js interpreter is installed (scripts/test adds it)")
    major = PRESENT[0]
    return major, find_node(major).path


def test_find_node__configured_path_wins_and_must_be_that_major(some_node):
    major, path = some_node
    assert find_node(major, {node_env_name(major): str(path)}).path == path
    with pytest.raises(InterpreterNotFound, match=rf"is Node\.js {major}\..*not Node\.js 99"):
        find_node(99, {node_env_name(99): str(path)})


def test_find_node__a_configured_path_that_is_no_node_is_refused(tmp_path):
    with pytest.raises(InterpreterNotFound, match="absolute"):
        find_node(20, {"STRATA_NODEJS_20": "node"})
    with pytest.raises(InterpreterNotFound, match=r"not a Node\.js interpreter"):
        find_node(20, {"STRATA_NODEJS_20": "/bin/true"})


def test_find_node__missing_major_names_the_setting_never_a_substitute(tmp_path):
    with pytest.raises(InterpreterNotFound, match="STRATA_NODEJS_99=/absolute/path/to/node"):
        find_node(99, {"HOME": str(tmp_path)})


@pytest.mark.parametrize(
    "layout",
    [
        ".nvm/versions/node/v{v}/bin/node",
        ".local/share/fnm/node-versions/v{v}/installation/bin/node",
        ".volta/tools/image/node/{v}/bin/node",
    ],
)
def test_find_node__version_manager_directories_give_the_newest_of_the_major(tmp_path, layout):
    # Node.js 77 exists nowhere: these stand-ins answer --version as node does.
    for version in ("77.0.1", "77.10.0", "77.9.9", "78.0.0"):
        binary = tmp_path / layout.format(v=version)
        binary.parent.mkdir(parents=True)
        binary.write_text(f"#!/bin/sh\necho v{version}\n")
        binary.chmod(0o755)
    found = find_node(77, {"HOME": str(tmp_path)})
    assert found.path == (tmp_path / layout.format(v="77.10.0")).resolve()
    with pytest.raises(InterpreterNotFound):
        find_node(79, {"HOME": str(tmp_path)})
