"""The function logs' settings, read from the STRATA_* environment."""

from __future__ import annotations

import pytest

from registry.config import Settings


def test_defaults__logs_stored_kept_30_days_1_gb_per_account_swept_every_5_minutes():
    settings = Settings.from_env({})
    assert settings.function_logs is True
    assert settings.function_logs_retention_days == 30
    assert settings.function_logs_quota_mb == 1024
    assert settings.function_logs_sweep_interval == 300.0


@pytest.mark.parametrize("value", ["off", "false", "0", "no"])
def test_storage__turned_off(value):
    assert Settings.from_env({"STRATA_FUNCTION_LOGS": value}).function_logs is False


def test_limits__read_from_the_environment():
    settings = Settings.from_env(
        {
            "STRATA_FUNCTION_LOGS_RETENTION_DAYS": "7",
            "STRATA_FUNCTION_LOGS_QUOTA_MB": "64",
            "STRATA_FUNCTION_LOGS_SWEEP_INTERVAL": "0.5",
        }
    )
    assert (
        settings.function_logs_retention_days,
        settings.function_logs_quota_mb,
        settings.function_logs_sweep_interval,
    ) == (7, 64, 0.5)


@pytest.mark.parametrize(
    "name", ["STRATA_FUNCTION_LOGS_RETENTION_DAYS", "STRATA_FUNCTION_LOGS_QUOTA_MB"]
)
def test_limits__that_are_not_positive_are_refused_at_startup(name):
    with pytest.raises(ValueError, match=name):
        Settings.from_env({name: "0"})
