"""Log group and stream names as Lambda makes them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest

from registry.logs import names
from registry.logs.errors import LogInvalidParameter, LogResourceNotFound

STARTED = datetime(2026, 12, 3, 23, 59, 59, tzinfo=timezone.utc).timestamp()


def test_function_group__is_under_aws_lambda():
    assert names.function_group("orders") == "/aws/lambda/orders"


def test_stream_name__is_lambdas_date_version_and_32_hex_digits():
    name = names.stream_name("$LATEST", "4242-0a1b2c3d4e", STARTED)
    assert re.fullmatch(r"2026/12/03/\[\$LATEST\][0-9a-f]{32}", name)
    assert name.endswith("42420a1b2c3d4e")


def test_stream_name__names_a_published_version():
    assert names.stream_name("7", "1-ab", STARTED).startswith("2026/12/03/[7]")


def test_stream_name__is_the_same_for_the_same_environment():
    assert names.stream_name("1", "9-ff", STARTED) == names.stream_name("1", "9-ff", STARTED)
    assert names.stream_name("1", "9-ff", STARTED) != names.stream_name("1", "9-fe", STARTED)


def test_group_arn__names_the_account_and_region():
    assert (
        names.group_arn("eu-west-1", "111122223333", "/aws/lambda/f")
        == "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/f:*"
    )


@pytest.mark.parametrize("name", ["", "has space", "semi;colon", "x" * 513])
def test_group_name__outside_cloudwatchs_pattern_is_refused(name):
    with pytest.raises(LogInvalidParameter, match="logGroupName"):
        names.check_group_name(name)


def test_group_identifier__an_arn_of_the_callers_account_names_its_group():
    arn = "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/f:*"
    assert names.group_from_identifier(arn, "111122223333") == "/aws/lambda/f"


def test_group_identifier__another_accounts_arn_names_nothing():
    arn = "arn:aws:logs:us-east-1:999999999999:log-group:/aws/lambda/f"
    with pytest.raises(LogResourceNotFound):
        names.group_from_identifier(arn, "111122223333")
