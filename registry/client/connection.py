"""The botocore Lambda client: endpoint, region and credentials the way AWS tools find them."""

from __future__ import annotations

import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

import botocore.session
from botocore.config import Config
from botocore.exceptions import NoRegionError

from registry.client.direct_get import DirectGetLayerVersion
from registry.client.errors import ClientError
from registry.client.resolve import NO_FILTERS, Filters, Resolver

# Strata's own default region; used only when an endpoint is given and nothing names a region.
_FALLBACK_REGION = "us-east-1"


@dataclass(frozen=True)
class Connection:
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    max_pool: int = 10


def lambda_client(conn: Connection, session: botocore.session.Session | None = None):
    """A botocore Lambda client.

    Endpoint: --endpoint-url, then STRATA_ENDPOINT_URL, then botocore's own settings
    (AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL, the profile). Credentials and region come from
    botocore's chain, so the same command works against Strata and real AWS Lambda.
    """
    session = session or botocore.session.Session(profile=conn.profile)
    endpoint, region = _endpoint_and_region(conn, session)
    config = Config(
        # Attempts follow AWS_MAX_ATTEMPTS / the profile, as in every AWS tool.
        retries={"mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
        max_pool_connections=max(10, conn.max_pool),
        user_agent_extra="strata-client",
    )
    try:
        return session.create_client(
            "lambda", region_name=region, endpoint_url=endpoint, config=config
        )
    except NoRegionError:
        raise ClientError("no AWS region configured; set AWS_REGION or pass --region") from None


def resolver_for(conn: Connection, filters: Filters = NO_FILTERS) -> Resolver:
    """A resolver whose GetLayerVersion calls go the direct way when the session has credentials.

    With an endpoint named by --endpoint-url or STRATA_ENDPOINT_URL the botocore client is built
    only when first used: loading Lambda's service model costs about 50 ms, which an install
    answered entirely by direct calls never needs. Other endpoints are botocore's to resolve."""
    session = botocore.session.Session(profile=conn.profile)
    endpoint, region = _endpoint_and_region(conn, session)
    if endpoint and region:
        client = _Deferred(lambda: lambda_client(conn, session))
    else:
        client = lambda_client(conn, session)
        endpoint, region = client.meta.endpoint_url, client.meta.region_name
    credentials = session.get_credentials()
    direct = None
    # Proxies are botocore's to apply (its settings for them are many).
    if credentials is not None and not urllib.request.getproxies():
        direct = DirectGetLayerVersion(
            endpoint, region, credentials, ca_bundle=session.get_config_variable("ca_bundle")
        )
    return Resolver(client, filters, direct_get=direct, origin=(endpoint, region))


class _Deferred:
    """Stands in for an object that is made on first use (from any thread)."""

    def __init__(self, make: Callable[[], object]):
        self._make = make
        self._made = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        with self._lock:
            if self._made is None:
                self._made = self._make()
        return getattr(self._made, name)


def s3_client(conn: Connection):
    """An S3 client from the same session settings (for publishing over the direct-upload limit)."""
    session = botocore.session.Session(profile=conn.profile)
    # botocore reads AWS_ENDPOINT_URL_S3 (or the profile's endpoint) by itself.
    return session.create_client("s3", region_name=_region(conn, session) or _FALLBACK_REGION)


def _endpoint_and_region(conn: Connection, session) -> tuple[str | None, str | None]:
    """The endpoint Strata names itself (None: botocore's settings or AWS), and the region."""
    endpoint = conn.endpoint_url or os.environ.get("STRATA_ENDPOINT_URL") or None
    region = _region(conn, session)
    if not region and (
        endpoint or os.environ.get("AWS_ENDPOINT_URL_LAMBDA") or os.environ.get("AWS_ENDPOINT_URL")
    ):
        region = _FALLBACK_REGION
    return endpoint, region


def _region(conn: Connection, session) -> str | None:
    # AWS_REGION is the cross-SDK name; this botocore reads only AWS_DEFAULT_REGION and the profile.
    return conn.region or os.environ.get("AWS_REGION") or session.get_config_variable("region")
