"""Settings from the STRATA_* environment."""

from __future__ import annotations

import pytest

from registry.config import Settings


@pytest.mark.parametrize(
    "value, expected",
    [
        ("", ""),
        ("https://strata.example.com", "https://strata.example.com"),
        (" https://strata.example.com/ ", "https://strata.example.com"),
        ("http://10.0.0.1:8000/strata/", "http://10.0.0.1:8000/strata"),
    ],
)
def test_public_url__is_kept_without_a_trailing_slash(value, expected):
    assert Settings.from_env({"STRATA_PUBLIC_URL": value}).public_url == expected


@pytest.mark.parametrize(
    "value",
    [
        "strata.example.com",
        "ftp://strata.example.com",
        "https://user@evil.example",
        "https://a b",
        "https://",
    ],
)
def test_public_url__that_is_not_an_http_address_is_refused_at_startup(value):
    with pytest.raises(ValueError, match="STRATA_PUBLIC_URL"):
        Settings.from_env({"STRATA_PUBLIC_URL": value})


def test_front_timeouts__default_and_accept_fractions_of_a_second():
    assert (Settings.from_env({}).header_timeout, Settings.from_env({}).body_timeout) == (
        10.0,
        30.0,
    )
    settings = Settings.from_env({"STRATA_HEADER_TIMEOUT": "0.5", "STRATA_BODY_TIMEOUT": " 2 "})
    assert (settings.header_timeout, settings.body_timeout) == (0.5, 2.0)


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_front_timeouts__that_are_not_positive_seconds_are_refused_at_startup(value):
    with pytest.raises(ValueError, match="STRATA_BODY_TIMEOUT"):
        Settings.from_env({"STRATA_BODY_TIMEOUT": value})


def test_drain_accept__three_seconds_unless_set_and_zero_allowed():
    assert Settings.from_env({}).drain_accept == 3.0
    assert Settings.from_env({"STRATA_DRAIN_ACCEPT_SECONDS": "0"}).drain_accept == 0.0
    assert Settings.from_env({"STRATA_DRAIN_ACCEPT_SECONDS": "1.5"}).drain_accept == 1.5
    with pytest.raises(ValueError, match="STRATA_DRAIN_ACCEPT_SECONDS"):
        Settings.from_env({"STRATA_DRAIN_ACCEPT_SECONDS": "-1"})


def test_memory_budget__defaults_to_three_quarters_of_the_host_and_no_account_bound():
    settings = Settings.from_env({})

    assert (settings.memory_fraction, settings.memory_budget_mb) == (0.75, None)
    assert settings.memory_wait == 1.0
    assert settings.account_max_environments is None


def test_memory_budget__a_fraction_or_an_absolute_figure():
    settings = Settings.from_env(
        {
            "STRATA_MEMORY_FRACTION": "0.5",
            "STRATA_MEMORY_BUDGET_MB": "4096",
            "STRATA_MEMORY_WAIT": "2",
        }
    )

    assert (settings.memory_fraction, settings.memory_budget_mb, settings.memory_wait) == (
        0.5,
        4096,
        2.0,
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("STRATA_MEMORY_FRACTION", "0"),
        ("STRATA_MEMORY_FRACTION", "1.5"),
        ("STRATA_MEMORY_FRACTION", "most"),
        ("STRATA_MEMORY_BUDGET_MB", "0"),
        ("STRATA_MEMORY_BUDGET_MB", "-1"),
    ],
)
def test_memory_budget__that_is_not_a_fraction_or_a_positive_size_is_refused_at_startup(
    name, value
):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: value})


def test_log_format__text_unless_json_is_asked_for():
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"STRATA_LOG_FORMAT": " JSON "}).log_format == "json"
    assert Settings.from_env({"STRATA_LOG_FORMAT": "json"}, log_format="text").log_format == "text"


@pytest.mark.parametrize("value", ["xml", "logfmt", "yes"])
def test_log_format__other_than_text_or_json_is_refused_at_startup(value):
    with pytest.raises(ValueError, match="STRATA_LOG_FORMAT"):
        Settings.from_env({"STRATA_LOG_FORMAT": value})
