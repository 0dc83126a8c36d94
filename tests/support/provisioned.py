"""Waiting for provisioned concurrency: PutProvisionedConcurrencyConfig answers IN_PROGRESS, as
on Lambda, and the environments start in the background."""

from __future__ import annotations

import time


def wait_provisioned(lam, name: str, qualifier: str, *, timeout: float = 60.0) -> dict:
    """GetProvisionedConcurrencyConfig once the setting is no longer IN_PROGRESS (READY or
    FAILED)."""
    deadline = time.monotonic() + timeout
    while True:
        config = lam.get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
        if config["Status"] != "IN_PROGRESS" or time.monotonic() > deadline:
            return config
        time.sleep(0.05)
