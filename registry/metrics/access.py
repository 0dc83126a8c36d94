"""Who may read /metrics.

Metrics name accounts and functions, so they are not for everyone who can reach the Lambda API.
An operator protects them with a bearer token (STRATA_METRICS_TOKEN), or serves them on an
address of their own choosing (STRATA_METRICS_BIND: a second listener, e.g. on a loopback or
management network, where nothing but /metrics answers), or both; with neither, they are open
only in dev mode.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress
import socket
from dataclasses import dataclass
from functools import cached_property

from registry.config import Settings


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    NO_TOKEN = "a bearer token is required"  # 401
    WRONG_TOKEN = "the bearer token is wrong"  # 401
    ELSEWHERE = "served at the metrics address only"  # 404
    UNCONFIGURED = "protection not configured"  # 403


@dataclass(frozen=True)
class MetricsAccess:
    token: str
    bind: str
    dev: bool

    @classmethod
    def from_settings(cls, settings: Settings) -> MetricsAccess:
        return cls(settings.metrics_token, settings.metrics_bind, settings.dev)

    def verdict(self, authorization: str | None, on_metrics_listener: bool) -> Verdict:
        if self.bind and not on_metrics_listener:
            return Verdict.ELSEWHERE
        if self.token:
            scheme, _, presented = (authorization or "").partition(" ")
            if scheme.lower() != "bearer" or not presented.strip():
                return Verdict.NO_TOKEN
            if not hmac.compare_digest(presented.strip().encode(), self.token.encode()):
                return Verdict.WRONG_TOKEN
            return Verdict.ALLOWED
        if self.bind or self.dev:
            return Verdict.ALLOWED
        return Verdict.UNCONFIGURED

    def on_metrics_listener(self, server_name: str, server_port: str) -> bool:
        """Whether a request arrived at the metrics listener, from the address of the socket that
        accepted it (WSGI's SERVER_NAME and SERVER_PORT under gunicorn)."""
        if not self.bind:
            return False
        host, port = self._listener
        if server_port != str(port):
            return False
        return host is None or _same_address(server_name, host)

    @cached_property
    def _listener(self) -> tuple[frozenset[str] | None, int]:
        host, _, port = self.bind.rpartition(":")
        host = host.strip("[]")
        if host in ("", "0.0.0.0", "::"):
            return None, int(port)  # every address of the host: the port tells
        addresses = {info[4][0] for info in socket.getaddrinfo(host, int(port))}
        return frozenset(addresses), int(port)


def _same_address(server_name: str, addresses: frozenset[str]) -> bool:
    try:
        name = str(ipaddress.ip_address(server_name.strip("[]")))
    except ValueError:
        return False
    return name in {str(ipaddress.ip_address(a)) for a in addresses}


def refusal_message(verdict: Verdict) -> str:
    return {
        Verdict.NO_TOKEN: "Send the metrics token as 'Authorization: Bearer <token>'.",
        Verdict.WRONG_TOKEN: "The metrics token is wrong.",
        Verdict.ELSEWHERE: "Metrics are served at the metrics address (STRATA_METRICS_BIND).",
        Verdict.UNCONFIGURED: (
            "Metrics are not enabled: set STRATA_METRICS_TOKEN (a bearer token Prometheus sends) "
            "or STRATA_METRICS_BIND (an address only /metrics answers at), or run with --dev."
        ),
    }[verdict]
