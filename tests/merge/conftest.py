from pathlib import Path

import pytest

from registry.merge import MergeInput
from tests.archive.build import make_zip


@pytest.fixture
def cache_dir(tmp_path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def layer(tmp_path):
    """layer("name.zip", *entries) -> MergeInput of a real zip built in the test's directory."""

    def build(name: str, *entries, streamed: bool = False) -> MergeInput:
        (tmp_path / "zips").mkdir(exist_ok=True)
        return MergeInput(make_zip(tmp_path / "zips" / name, *entries, streamed=streamed))

    return build
