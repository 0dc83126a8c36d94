"""Finding the host interpreter for python3.N: configurable, absolute, never substituted."""

import sys

import pytest

from registry.executor.errors import InterpreterNotFound
from registry.executor.interpreters import find_python


def test_find_python__configured_path_wins(tmp_path):
    found = find_python("3.11", {"STRATA_PYTHON_3_11": sys.executable})
    assert found.path.is_absolute() and found.path.name.startswith("python3")


def test_find_python__missing_version_is_a_clear_error(tmp_path):
    with pytest.raises(InterpreterNotFound, match="STRATA_PYTHON_3_99"):
        find_python("3.99", {"PYENV_ROOT": str(tmp_path)})


def test_find_python__relative_configured_path_is_refused():
    with pytest.raises(InterpreterNotFound, match="absolute"):
        find_python("3.11", {"STRATA_PYTHON_3_11": "python3.11"})
