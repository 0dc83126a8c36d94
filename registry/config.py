"""Settings, read once from the STRATA_* environment (names shared with README and compose)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from registry.client_address import Network, parse_trusted_proxies
from registry.limits import DEFAULT_ISOLATION

DEV_ACCOUNT_ID = "000000000000"
DEV_ACCESS_KEY_ID = "test"
DEV_SECRET_ACCESS_KEY = "test"

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in _TRUE


def _positive_int(env, name: str, default: int) -> int:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return int(value)


def _optional_positive_int(env, name: str) -> int | None:
    if not (env.get(name) or "").strip():
        return None
    return _positive_int(env, name, 0)


def _fraction(env, name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        fraction = float(value)
    except ValueError:
        fraction = 0.0
    if not 0 < fraction <= 1:
        raise ValueError(f"{name} must be a fraction above 0 and at most 1, not {value!r}")
    return fraction


def _positive_seconds(env, name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds, not {value!r}")
    return seconds


def _seconds_or_zero(env, name: str, default: float) -> float:
    value = (env.get(name) or "").strip()
    if value in ("0", "0.0"):
        return 0.0
    return _positive_seconds(env, name, default)


def _public_url(value: str | None) -> str:
    url = (value or "").strip().rstrip("/")
    if url and not _PUBLIC_URL.fullmatch(url):
        raise ValueError(
            "STRATA_PUBLIC_URL must be an http(s) URL such as https://strata.example.com, "
            f"not {url!r}"
        )
    return url


_PUBLIC_URL = re.compile(r"https?://[^/\s?#@]+(/[^\s?#]*)?")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".strata")
    database_url: str = ""
    storage: str = "filesystem"
    s3_endpoint: str = ""
    s3_access_key: str = ""
    s3_secret_key: str = ""
    s3_bucket: str = "strata"
    s3_secure: bool = False
    s3_public_endpoint: str = ""
    region: str = "us-east-1"
    # The address clients reach the server by (download URLs are built on it); when unset, the
    # request's own Host header is used, which a client can set to anything.
    public_url: str = ""
    dev: bool = False
    executor_isolation: str = DEFAULT_ISOLATION
    # Live execution environments one account may hold in one app process, across its functions
    # (None: no bound of its own; the node's memory budget and the concurrency gate bound them).
    account_max_environments: int | None = None
    # The node's memory for execution environments: an absolute budget, else a fraction of the
    # host's RAM, shared by every worker of the server; and how long an invocation past it waits.
    memory_fraction: float = 0.75
    memory_budget_mb: int | None = None
    memory_wait: float = 1.0
    # Who may read /metrics: the holder of this bearer token, and/or whoever reaches the extra
    # listener at this host:port (registry/metrics/access.py); open only in dev mode without both.
    metrics_token: str = ""
    metrics_bind: str = ""
    # Off: nothing is recorded and /metrics is not served (for operators who scrape nothing).
    metrics: bool = True
    # Signs filesystem-backend download URLs; generated and kept in the data dir when unset.
    signing_key: str = ""
    # Encrypts access keys' secrets in the database; the data dir's secret.key when unset.
    secret_key: str = ""
    # Asynchronous invocations: pending events one account may have queued, and the worker
    # threads per app process that run them (one account never holds all of them).
    event_queue_max_per_account: int = 100
    event_workers: int = 3
    # Function logs (registry/logs): stored unless STRATA_FUNCTION_LOGS=off; kept for the group's
    # retention or this default; one account's stored bytes bounded (its oldest go first); the
    # retention sweep's period.
    function_logs: bool = True
    function_logs_retention_days: int = 30
    function_logs_quota_mb: int = 1024
    function_logs_sweep_interval: float = 300.0
    # Seconds a request's line and headers may take to arrive, and the longest a request body or
    # the reading of a response may go without progress (the server front's timeouts).
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # The server's log lines: "text" for a terminal, "json" for a collector (log_format.py).
    log_format: str = "text"
    # Seconds a draining node goes on accepting, so that its balancer takes it out of rotation
    # before it refuses connections (registry/front/draining.py); 0 for a node without one.
    drain_accept: float = 3.0
    # Proxies (addresses or networks) whose X-Forwarded-For is believed, so that per-client limits
    # count clients rather than the balancer (registry/client_address.py); none by default.
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("STRATA_DATA_DIR") or ".strata")
        settings = cls(
            data_dir=data_dir,
            database_url=env.get("STRATA_DATABASE_URL", ""),
            storage=env.get("STRATA_STORAGE", "filesystem") or "filesystem",
            s3_endpoint=env.get("STRATA_S3_ENDPOINT", ""),
            s3_access_key=env.get("STRATA_S3_ACCESS_KEY", ""),
            s3_secret_key=env.get("STRATA_S3_SECRET_KEY", ""),
            s3_bucket=env.get("STRATA_S3_BUCKET", "strata") or "strata",
            s3_secure=_flag(env.get("STRATA_S3_SECURE")),
            s3_public_endpoint=env.get("STRATA_S3_PUBLIC_ENDPOINT", ""),
            region=env.get("STRATA_REGION", "us-east-1") or "us-east-1",
            public_url=_public_url(env.get("STRATA_PUBLIC_URL")),
            dev=_flag(env.get("STRATA_DEV")),
            executor_isolation=env.get("STRATA_EXECUTOR_ISOLATION") or DEFAULT_ISOLATION,
            account_max_environments=_environments_limit(
                env.get("STRATA_ACCOUNT_MAX_ENVIRONMENTS")
            ),
            signing_key=env.get("STRATA_SIGNING_KEY", ""),
            secret_key=env.get("STRATA_SECRET_KEY", ""),
            event_queue_max_per_account=_positive_int(
                env, "STRATA_EVENT_QUEUE_MAX_PER_ACCOUNT", 100
            ),
            event_workers=_positive_int(env, "STRATA_EVENT_WORKERS", 3),
            function_logs=_flag(env.get("STRATA_FUNCTION_LOGS"), default=True),
            function_logs_retention_days=_positive_int(
                env, "STRATA_FUNCTION_LOGS_RETENTION_DAYS", 30
            ),
            function_logs_quota_mb=_positive_int(env, "STRATA_FUNCTION_LOGS_QUOTA_MB", 1024),
            function_logs_sweep_interval=_positive_seconds(
                env, "STRATA_FUNCTION_LOGS_SWEEP_INTERVAL", 300.0
            ),
            header_timeout=_positive_seconds(env, "STRATA_HEADER_TIMEOUT", 10.0),
            body_timeout=_positive_seconds(env, "STRATA_BODY_TIMEOUT", 30.0),
            log_format=_log_format(env.get("STRATA_LOG_FORMAT")),
            drain_accept=_seconds_or_zero(env, "STRATA_DRAIN_ACCEPT_SECONDS", 3.0),
            memory_fraction=_fraction(env, "STRATA_MEMORY_FRACTION", 0.75),
            memory_budget_mb=_optional_positive_int(env, "STRATA_MEMORY_BUDGET_MB"),
            memory_wait=_positive_seconds(env, "STRATA_MEMORY_WAIT", 1.0),
            metrics_token=(env.get("STRATA_METRICS_TOKEN") or "").strip(),
            metrics_bind=_host_port(env.get("STRATA_METRICS_BIND"), "STRATA_METRICS_BIND"),
            metrics=_flag(env.get("STRATA_METRICS"), default=True),
            trusted_proxies=parse_trusted_proxies(
                env.get("STRATA_TRUSTED_PROXIES"), "STRATA_TRUSTED_PROXIES"
            ),
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'strata.db').resolve()}"

    @property
    def cache_dir(self) -> Path:
        """Where the merge engine keeps extracted layers and built bundles."""
        return self.data_dir / "cache"

    @property
    def memory_ledger(self) -> Path:
        """What the server's workers hold of the node's memory budget (registry/executor/memory.py):
        one file per data directory, so each server on a host has a budget of its own."""
        return self.data_dir / "executor-memory.json"


def _log_format(value: str | None) -> str:
    kind = (value or "").strip().lower() or "text"
    if kind not in ("text", "json"):
        raise ValueError(f"STRATA_LOG_FORMAT must be text or json, not {value!r}")
    return kind


def _host_port(value: str | None, name: str) -> str:
    address = (value or "").strip()
    if address and not _HOST_PORT.fullmatch(address):
        raise ValueError(f"{name} must be HOST:PORT, such as 127.0.0.1:9464, not {value!r}")
    return address


_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}")


def _environments_limit(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise ValueError(
            f"STRATA_ACCOUNT_MAX_ENVIRONMENTS must be a positive integer, not {value!r}"
        )
    return int(value)
