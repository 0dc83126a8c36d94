"""A request's client address: the TCP peer, unless that is a trusted proxy, in which case the
right-most address of X-Forwarded-For that is not a trusted proxy itself."""

from __future__ import annotations

import pytest

from registry.client_address import client_address, parse_trusted_proxies
from registry.config import Settings

BALANCER = parse_trusted_proxies("10.0.0.5", "TEST")


def test_nobody_is_trusted_by_default__and_the_peer_is_the_client():
    assert Settings().trusted_proxies == ()
    assert Settings.from_env({}).trusted_proxies == ()
    assert client_address("10.0.0.5", ["203.0.113.7"], Settings.from_env({}).trusted_proxies) == (
        "10.0.0.5"
    )


def test_an_untrusted_peer__is_the_client_whatever_its_header_says():
    assert client_address("198.51.100.4", ["203.0.113.7"], BALANCER) == "198.51.100.4"
    assert client_address("198.51.100.4", ["10.0.0.5, 203.0.113.7"], BALANCER) == "198.51.100.4"


def test_a_trusted_peer__names_the_client_in_the_right_most_entry():
    # What the client sent itself is left of what the balancer appended.
    forged = ["192.0.2.66, 198.51.100.4"]
    assert client_address("10.0.0.5", forged, BALANCER) == "198.51.100.4"


def test_a_trusted_peer_without_the_header__is_the_client():
    assert client_address("10.0.0.5", [], BALANCER) == "10.0.0.5"
    assert client_address("10.0.0.5", ["", " , "], BALANCER) == "10.0.0.5"


def test_a_chain_of_trusted_proxies__is_walked_past_to_the_first_untrusted_address():
    trusted = parse_trusted_proxies("10.0.0.5, 10.0.1.7", "TEST")
    header = ["192.0.2.66, 198.51.100.4, 10.0.1.7"]
    assert client_address("10.0.0.5", header, trusted) == "198.51.100.4"
    # The same address further left is not trusted by position: each hop is judged by itself.
    assert client_address("10.0.0.5", ["10.0.1.7, 198.51.100.4, 10.0.1.7"], trusted) == (
        "198.51.100.4"
    )


def test_a_header_of_trusted_proxies_only__gives_its_left_most_address():
    trusted = parse_trusted_proxies("10.0.0.0/24", "TEST")
    assert client_address("10.0.0.5", ["10.0.0.9, 10.0.0.8"], trusted) == "10.0.0.9"


def test_cidr_entries__trust_every_address_of_their_network_and_no_other():
    trusted = parse_trusted_proxies("10.0.0.0/24,fd00:1::/64", "TEST")
    assert client_address("10.0.0.200", ["198.51.100.4"], trusted) == "198.51.100.4"
    assert client_address("10.0.1.1", ["198.51.100.4"], trusted) == "10.0.1.1"
    assert client_address("fd00:1::abcd", ["198.51.100.4"], trusted) == "198.51.100.4"
    assert client_address("fd00:2::1", ["198.51.100.4"], trusted) == "fd00:2::1"


def test_ipv6__peers_and_entries_are_compared_and_given_in_their_normal_form():
    trusted = parse_trusted_proxies("2001:db8::1", "TEST")
    header = ["2001:DB8:0:0:0:0:0:1, 2001:db8:0::beef"]  # the first, trusted, is left of it
    assert client_address("2001:db8::1", ["2001:DB8:0::BEEF"], trusted) == "2001:db8::beef"
    assert client_address("2001:0db8::0001", ["2001:db8::beef"], trusted) == "2001:db8::beef"
    assert client_address("2001:db8::1", header, trusted) == "2001:db8::beef"
    assert client_address("2001:db8::2", ["2001:db8::beef"], trusted) == "2001:db8::2"


def test_an_ipv4_client_seen_by_a_dual_stack_listener__is_its_ipv4_address():
    trusted = parse_trusted_proxies("10.0.0.5", "TEST")
    assert client_address("::ffff:10.0.0.5", ["::ffff:198.51.100.4"], trusted) == "198.51.100.4"
    assert client_address("::ffff:198.51.100.4", [], trusted) == "198.51.100.4"


def test_an_ipv6_proxy_may_forward_an_ipv4_client_and_the_other_way_round():
    trusted = parse_trusted_proxies("10.0.0.5,2001:db8::1", "TEST")
    assert client_address("2001:db8::1", ["198.51.100.4"], trusted) == "198.51.100.4"
    assert client_address("10.0.0.5", ["2001:db8::beef"], trusted) == "2001:db8::beef"


def test_garbage_in_the_header__ends_the_walk_at_the_last_trusted_hop():
    trusted = parse_trusted_proxies("10.0.0.5,10.0.1.7", "TEST")
    # Nothing left of the garbage is believed, however plausible.
    assert client_address("10.0.0.5", ["198.51.100.4, unknown"], trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", ["198.51.100.4, not-an-ip, 10.0.1.7"], trusted) == (
        "10.0.1.7"
    )
    assert client_address("10.0.0.5", ["198.51.100.4:99999"], trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", ["[198.51.100.4"], trusted) == "10.0.0.5"
    # Garbage left of the client is never reached.
    assert client_address("10.0.0.5", ["<script>, 198.51.100.4"], trusted) == "198.51.100.4"


def test_entries_with_the_port_a_proxy_appended__give_their_address():
    # Behind such a proxy every client would otherwise be the proxy, one sign-in limit for all.
    trusted = parse_trusted_proxies("10.0.0.5,2001:db8::1", "TEST")
    assert client_address("10.0.0.5", ["198.51.100.4:4711"], trusted) == "198.51.100.4"
    assert client_address("10.0.0.5", ["[2001:db8::beef]:4711"], trusted) == "2001:db8::beef"
    assert client_address("10.0.0.5", ["[2001:db8::beef]"], trusted) == "2001:db8::beef"
    # A trusted hop with a port is still passed over; unbracketed, an IPv6 entry has no port.
    assert client_address("10.0.0.5", ["198.51.100.4, [2001:db8::1]:443"], trusted) == (
        "198.51.100.4"
    )
    assert client_address("10.0.0.5", ["2001:db8::beef:4711"], trusted) == "2001:db8::beef:4711"


def test_several_header_lines__are_one_list_in_the_order_received():
    trusted = parse_trusted_proxies("10.0.0.5,10.0.1.7", "TEST")
    lines = ["192.0.2.66", "198.51.100.4, 10.0.1.7", "10.0.1.7"]
    assert client_address("10.0.0.5", lines, trusted) == "198.51.100.4"
    assert client_address("10.0.0.5", ["198.51.100.4", "192.0.2.66"], trusted) == "192.0.2.66"


def test_a_peer_that_is_no_address__is_given_as_it_is_and_trusted_for_nothing():
    trusted = parse_trusted_proxies("10.0.0.0/8", "TEST")
    assert client_address("", ["10.0.0.1"], trusted) == ""
    assert client_address("unix:/run/strata.sock", ["198.51.100.4"], trusted) == (
        "unix:/run/strata.sock"
    )


def test_settings__read_addresses_and_networks_of_both_families():
    settings = Settings.from_env({"STRATA_TRUSTED_PROXIES": " 10.0.0.5 , 192.168.0.0/16,fd00::/8,"})
    assert [str(network) for network in settings.trusted_proxies] == [
        "10.0.0.5/32",
        "192.168.0.0/16",
        "fd00::/8",
    ]


@pytest.mark.parametrize(
    "value",
    ["balancer.internal", "10.0.0.256", "10.0.0.5/33", "10.0.0.5/24", "fd00::/200", "10.0.0.5:80"],
)
def test_settings__refuse_what_is_no_address_or_network_at_startup(value):
    with pytest.raises(ValueError, match="STRATA_TRUSTED_PROXIES") as refused:
        Settings.from_env({"STRATA_TRUSTED_PROXIES": f"10.0.0.1,{value}"})
    assert repr(value) in str(refused.value)
