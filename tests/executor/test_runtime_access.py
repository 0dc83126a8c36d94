"""Which Runtime API tier each host gives, what the plan reports, and strict's refusal."""

from __future__ import annotations

import dataclasses

import pytest

from registry.executor import IsolationUnavailable, runtime_access
from registry.executor.host import HostCapabilities
from registry.executor.plan import plan
from tests.executor.conftest import spec_for
from tests.support import require_service

BASE = HostCapabilities(
    root=True,
    bwrap=None,
    cgroup_memory=False,
    cgroup_memsw=False,
    cgroup_pids=False,
    loop_tmp=False,
    enter_netns=False,
    overlay=False,
    sandbox_python="/usr/bin/python3",
)


@pytest.fixture
def bundle(tmp_path):
    (tmp_path / "task").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "bwrap, enter_netns, drop_uid, network, python, tier",
    [
        (True, True, True, False, True, "netns"),
        (True, False, True, False, True, "peer-uid"),  # root, namespaces not entered
        (False, False, True, False, True, "peer-uid"),  # root without bubblewrap
        (True, True, True, True, True, "peer-uid"),  # host network asked for
        (True, False, False, False, True, "sandbox-listener"),  # bubblewrap without root
        (
            True,
            False,
            False,
            False,
            False,
            "shared-loopback",
        ),  # ... but no interpreter for the helper
        (True, False, False, True, True, "shared-loopback"),  # ... and host network
        (False, False, False, False, True, "shared-loopback"),  # neither
    ],
)
def test_choose__the_strongest_tier_the_host_allows(
    bwrap, enter_netns, drop_uid, network, python, tier
):
    assert (
        runtime_access.choose(
            bwrap=bwrap,
            enter_netns=enter_netns,
            drop_uid=drop_uid,
            network=network,
            sandbox_python=python,
        )
        == tier
    )


def test_plan__unprivileged_bubblewrap_gets_a_private_network_and_the_helper(host, bundle):
    require_service(host.bwrap is not None, "the sandbox-listener tier needs bubblewrap")
    unprivileged = dataclasses.replace(BASE, root=False, bwrap=host.bwrap)

    chosen = plan(spec_for(bundle), unprivileged)

    assert chosen.runtime_api == "sandbox-listener" and chosen.netns and not chosen.drop_uid
    assert "only this environment" in chosen.mechanisms(spec_for(bundle))["runtime_api"]


def test_plan__root_without_entering_namespaces_checks_the_peer_uid(bundle):
    chosen = plan(spec_for(bundle), BASE)

    assert (chosen.runtime_api, chosen.netns, chosen.drop_uid) == ("peer-uid", False, True)


def test_plan__no_bubblewrap_and_no_root_reports_the_shared_loopback(bundle):
    bare = dataclasses.replace(BASE, root=False)

    chosen = plan(spec_for(bundle), bare)

    assert chosen.runtime_api == "shared-loopback"
    assert (
        "other environments of this user can reach it"
        in chosen.mechanisms(spec_for(bundle))["runtime_api"]
    )
    with pytest.raises(IsolationUnavailable) as refused:
        plan(spec_for(bundle, isolation="strict"), bare)
    assert "runtime_api" in refused.value.missing


def test_isolation_none__still_checks_the_peer_uid_as_root(bundle):
    assert plan(spec_for(bundle, isolation="none"), BASE).runtime_api == "peer-uid"
    assert (
        plan(spec_for(bundle, isolation="none"), dataclasses.replace(BASE, root=False)).runtime_api
        == "shared-loopback"
    )


def test_node_report__says_whether_tenants_are_separated():
    assert runtime_access.node_report(BASE, "best-effort")["tenants_separated"] is True
    shared = runtime_access.node_report(dataclasses.replace(BASE, root=False), "best-effort")
    assert shared["runtime_api"] == "shared-loopback" and shared["tenants_separated"] is False


@pytest.mark.parametrize("tier", sorted(runtime_access.DESCRIPTIONS))
def test_separates_tenants__true_exactly_for_the_tiers_that_keep_the_api_to_one_environment(tier):
    mechanisms = {"runtime_api": runtime_access.DESCRIPTIONS[tier]}
    assert runtime_access.separates_tenants(mechanisms) is (tier != runtime_access.SHARED_LOOPBACK)
    assert runtime_access.separates_tenants({}) is False
