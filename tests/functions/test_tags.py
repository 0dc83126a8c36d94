"""The tags a function may carry: Lambda's count, lengths and characters."""

from __future__ import annotations

import pytest

from registry.errors import ConstraintViolation, InvalidParameterValue
from registry.functions.tags import MAX_TAGS, check_tags


def test_check_tags__letters_digits_spaces_and_the_allowed_punctuation_in_any_script():
    tags = {"team name": "platform", "Kostenstelle": "Zürich 42", "a_.:/=+-@": "", "チーム": "基盤"}
    assert check_tags(tags) == tags


def test_check_tags__at_most_fifty():
    assert len(check_tags({f"k{i}": "v" for i in range(MAX_TAGS)})) == MAX_TAGS
    with pytest.raises(InvalidParameterValue, match="Number of tags exceeds function tag limit"):
        check_tags({f"k{i}": "v" for i in range(MAX_TAGS + 1)})


@pytest.mark.parametrize(
    "tags",
    [{"": "v"}, {"k" * 129: "v"}, {"k": "v" * 257}, {"k;": "v"}, {"k": "v\n"}, {"k": "<v>"}],
)
def test_check_tags__keys_and_values_outside_the_model_are_validation_errors(tags):
    with pytest.raises(ConstraintViolation, match="1 validation error detected"):
        check_tags(tags)


def test_check_tags__must_map_strings_to_strings():
    for tags in (["k"], {"k": 1}, "k=v"):
        with pytest.raises(InvalidParameterValue, match="string keys to string values"):
            check_tags(tags)
