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
