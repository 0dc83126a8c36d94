"""FunctionName and Qualifier parsing: every malformed or out-of-range value is a typed error."""

from __future__ import annotations

import pytest

from registry.errors import ConstraintViolation, InvalidParameterValue, ResourceNotFound
from registry.functions.names import (
    FunctionRef,
    check_qualifier,
    check_version,
    parse_function_name,
)
from registry.validation import MAX_VERSION_NUMBER

REGION = "us-east-1"


@pytest.mark.parametrize(
    "value, qualifier, expected",
    [
        ("fn", None, FunctionRef("fn", None, None)),
        ("fn:7", None, FunctionRef("fn", None, "7")),
        ("fn", "$LATEST", FunctionRef("fn", None, "$LATEST")),
        ("fn", str(MAX_VERSION_NUMBER), FunctionRef("fn", None, str(MAX_VERSION_NUMBER))),
        ("123456789012:function:fn:live", None, FunctionRef("fn", "123456789012", "live")),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:fn",
            "3",
            FunctionRef("fn", "123456789012", "3"),
        ),
    ],
)
def test_parse_function_name__accepts_the_forms_lambda_accepts(value, qualifier, expected):
    assert parse_function_name(value, qualifier, region=REGION) == expected


@pytest.mark.parametrize(
    "value, qualifier",
    [
        ("fn", "1" * 30),
        ("fn", str(MAX_VERSION_NUMBER + 1)),
        ("fn:" + "9" * 20, None),  # a version number derived from the name is checked too
        ("fn:1", "2"),
        ("f" * 65, None),
    ],
)
def test_parse_function_name__refuses_what_no_function_can_have(value, qualifier):
    with pytest.raises(InvalidParameterValue):
        parse_function_name(value, qualifier, region=REGION)


@pytest.mark.parametrize(
    "value, qualifier, constraint",
    [
        ("fn:" + "a" * 129, None, "Member must have length less than or equal to 128"),
        ("fn", "", "Member must have length less than or equal to 128"),
        ("fn", "\u00b2", "Member must satisfy regular expression pattern: "),
        ("fn", "a b", "Member must satisfy regular expression pattern: "),
    ],
)
def test_parse_function_name__a_malformed_qualifier_breaks_the_models_constraint(
    value, qualifier, constraint
):
    with pytest.raises(ConstraintViolation) as broken:
        parse_function_name(value, qualifier, region=REGION)
    assert str(broken.value).startswith("1 validation error detected: Value '")
    assert f"' at 'qualifier' failed to satisfy constraint: {constraint}" in str(broken.value)


def test_parse_function_name__another_regions_arn_is_not_reachable():
    with pytest.raises(ResourceNotFound) as elsewhere:
        parse_function_name(
            "arn:aws:lambda:eu-west-1:123456789012:function:fn", None, region=REGION
        )
    assert str(elsewhere.value) == (
        f"Functions from 'eu-west-1' are not reachable in this region ('{REGION}')"
    )


@pytest.mark.parametrize("value", ["0", "1", str(MAX_VERSION_NUMBER)])
def test_check_version__accepts_storable_numbers(value):
    assert check_version(value) == value


@pytest.mark.parametrize(
    "value", [str(MAX_VERSION_NUMBER + 1), "1" * 400, "\u00b2", "-1", "1.0", ""]
)
def test_check_version__refuses_numbers_no_version_can_have(value):
    with pytest.raises(InvalidParameterValue):
        check_version(value)


def test_check_qualifier__message_is_bounded_for_long_numbers():
    with pytest.raises(InvalidParameterValue) as refused:
        check_qualifier("1" * 120)
    assert len(str(refused.value)) < 200
