"""The address a request came from, as far as the server can tell.

Behind a load balancer every connection comes from the balancer, so the TCP peer says nothing
about the client. A proxy the operator trusts (STRATA_TRUSTED_PROXIES) appends the address it
received the request from to X-Forwarded-For; everything left of that was written by whoever sent
the request, and may be anything. So the header is read from the right: past the hops that are
trusted proxies themselves, the first address that is not one is the client. The header of a peer
that is not trusted is ignored: a client forging it gains nothing.

Some proxies write the client's port too (`a.b.c.d:port`, `[v6]:port`); the address is what
counts, or every client behind such a proxy would look like the proxy itself.

Per-client decisions (the console's sign-in limits) use this address. Decisions that grant access
by address must not: they go by the connection itself.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

FORWARDED_FOR = "X-Forwarded-For"
_BRACKETED = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::([0-9]{1,5}))?")
_IPV4_WITH_PORT = re.compile(r"([0-9.]+):([0-9]{1,5})")


def parse_trusted_proxies(value: str | None, name: str) -> tuple[Network, ...]:
    """Comma-separated addresses or CIDR networks, IPv4 or IPv6; empty trusts nobody."""
    networks = []
    for entry in (value or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=True))
        except ValueError:
            raise ValueError(
                f"{name} must be comma-separated IP addresses or networks, such as "
                f"10.0.0.5,192.168.0.0/24,fd00::/8; {entry!r} is neither (a network's host bits "
                "must be zero)"
            ) from None
    return tuple(networks)


def client_address(peer: str, forwarded_for: Iterable[str], trusted: Iterable[Network]) -> str:
    """The client's address: `peer` (the connection's remote address) unless it is a trusted
    proxy, in which case the right-most address of the X-Forwarded-For header lines
    `forwarded_for` (in the order received) that is not itself a trusted proxy."""
    trusted = tuple(trusted)
    hop = _address(peer)
    if hop is None or not _trusts(trusted, hop):
        return str(hop) if hop is not None else peer
    entries = [entry.strip() for line in forwarded_for for entry in line.split(",")]
    # An empty element of a header list is none (RFC 9110, 5.6.1): it ends nothing.
    for entry in reversed([entry for entry in entries if entry]):
        address = _forwarded(entry)
        if address is None:
            # Whatever sits left of garbage was not written by a proxy that knew what it did.
            break
        hop = address
        if not _trusts(trusted, hop):
            break
    return str(hop)


def _forwarded(entry: str) -> Address | None:
    """An X-Forwarded-For entry's address, with or without a port (an IPv6 address with a port
    is bracketed: unbracketed, its last group would be read as the port)."""
    match = _BRACKETED.fullmatch(entry) or _IPV4_WITH_PORT.fullmatch(entry)
    if match is None:
        return _address(entry)
    host, port = match.groups()
    if port is not None and int(port) > 65535:
        return None
    return _address(host)


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: one client, one address.
        return address.ipv4_mapped
    return address


def _trusts(trusted: tuple[Network, ...], address: Address) -> bool:
    return any(address.version == network.version and address in network for network in trusted)
