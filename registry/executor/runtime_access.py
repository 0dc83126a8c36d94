"""Who can reach an environment's Runtime API, tier by tier.

An environment's Runtime API hands out its events (another account's payloads) and takes their
answers, so only that environment may reach it. Strata picks the strongest tier the host allows:

| tier             | needs                       | how                                            |
|------------------|-----------------------------|------------------------------------------------|
| netns            | root, bubblewrap            | listener made in the sandbox's own network     |
|                  |                             | namespace (127.0.0.1:9001, as on Lambda)       |
| sandbox-listener | bubblewrap, no root         | a helper in the sandbox makes that listener    |
|                  |                             | and hands it to the executor over a socketpair |
| peer-uid         | root (a uid per environment)| host loopback port; a connection whose socket  |
|                  |                             | another uid made is refused (peers.py)         |
| shared-loopback  | nothing                     | host loopback port any process of the same     |
|                  |                             | user can reach: no separation between tenants  |
"""

from __future__ import annotations

NETNS = "netns"
SANDBOX_LISTENER = "sandbox-listener"
PEER_UID = "peer-uid"
SHARED_LOOPBACK = "shared-loopback"

SEPARATED = frozenset({NETNS, SANDBOX_LISTENER, PEER_UID})

DESCRIPTIONS = {
    NETNS: "127.0.0.1:9001 in the sandbox's private network namespace: only this environment "
    "can reach it",
    SANDBOX_LISTENER: "127.0.0.1:9001 made inside the sandbox's private network namespace and "
    "handed to the executor: only this environment can reach it",
    PEER_UID: "a host loopback port; connections from any uid but the environment's are refused: "
    "only this environment can reach it",
    SHARED_LOOPBACK: "shared loopback: other environments of this user can reach it (no "
    "bubblewrap and no uid of its own)",
}


def separates_tenants(mechanisms: dict) -> bool:
    """Whether an invocation result's mechanisms say only its own environment reached its API."""
    return mechanisms.get("runtime_api") in _SEPARATED_DESCRIPTIONS


def choose(
    *, bwrap: bool, enter_netns: bool, drop_uid: bool, network: bool, sandbox_python: bool
) -> str:
    """The tier for one function: `network` functions share the host's network, so only a uid
    of their own can keep their Runtime API to themselves."""
    if bwrap and enter_netns and not network:
        return NETNS
    if drop_uid:
        return PEER_UID
    if bwrap and sandbox_python and not network:
        return SANDBOX_LISTENER
    return SHARED_LOOPBACK


def node_tier(host) -> str:
    """The tier this host gives an ordinary function (one without host network)."""
    return choose(
        bwrap=host.bwrap is not None,
        enter_netns=host.enter_netns,
        drop_uid=host.root,
        network=False,
        sandbox_python=host.sandbox_python is not None,
    )


def node_report(host, level: str) -> dict:
    """What /readyz says about isolation: cheap, from capabilities detected at start."""
    tier = node_tier(host)
    return {
        "level": level,
        "runtime_api": tier,
        "tenants_separated": tier in SEPARATED,
        "detail": DESCRIPTIONS[tier],
    }


_SEPARATED_DESCRIPTIONS = frozenset(DESCRIPTIONS[tier] for tier in SEPARATED)
