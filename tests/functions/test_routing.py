"""A weighted alias's RoutingConfig: what is accepted, and how one invocation's version is drawn."""

from __future__ import annotations

import pytest

from registry.errors import ConstraintViolation, InvalidParameterValue
from registry.functions import routing


@pytest.mark.parametrize("given", [None, {}, {"AdditionalVersionWeights": {}}])
def test_parse__no_weights_is_an_alias_on_one_version(given):
    assert routing.parse(given) is None


def test_parse__keeps_the_weight_as_a_number():
    assert routing.parse({"AdditionalVersionWeights": {"2": 1}}) == {"2": 1.0}


def test_parse__more_than_one_additional_version_is_refused():
    with pytest.raises(InvalidParameterValue, match=r"cannot be greater than 1$"):
        routing.parse({"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}})


@pytest.mark.parametrize(
    ("weights", "constraint"),
    [
        ({"2": 1.01}, "Map value must satisfy constraint"),
        ({"2": -0.1}, "Map value must satisfy constraint"),
        ({"2": True}, "Map value must satisfy constraint"),
        ({"live": 0.5}, "Map keys must satisfy constraint"),
    ],
)
def test_parse__a_weight_or_version_outside_the_model_is_a_constraint_violation(
    weights, constraint
):
    with pytest.raises(ConstraintViolation) as broken:
        routing.parse({"AdditionalVersionWeights": weights})
    assert "at 'routingConfig.additionalVersionWeights' failed to satisfy constraint: " in str(
        broken.value
    )
    assert constraint in str(broken.value)


def test_check_targets__the_primary_version_and_latest_are_refused():
    with pytest.raises(InvalidParameterValue, match=r"^Invalid function version 2\. "):
        routing.check_targets("2", {"2": 0.5})
    with pytest.raises(InvalidParameterValue, match=r"^\$LATEST is not supported"):
        routing.check_targets("$LATEST", {"2": 0.5})
    routing.check_targets("1", {"2": 0.5})


def test_check_same_role__versions_with_different_roles_are_refused():
    routing.check_same_role({"role": "arn:aws:iam::1:role/a"}, {"role": "arn:aws:iam::1:role/a"})
    with pytest.raises(InvalidParameterValue, match="same execution role"):
        routing.check_same_role(
            {"role": "arn:aws:iam::1:role/a"}, {"role": "arn:aws:iam::1:role/b"}
        )


@pytest.mark.parametrize(("draw", "expected"), [(0.0, "2"), (0.29, "2"), (0.3, "1"), (0.99, "1")])
def test_pick__a_draw_below_the_weight_runs_the_additional_version(draw, expected):
    assert routing.pick("1", {"2": 0.3}, draw=lambda: draw) == expected


def test_pick__an_alias_without_weights_runs_its_version():
    assert routing.pick("4", None) == "4"
