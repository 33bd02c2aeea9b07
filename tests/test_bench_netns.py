"""The simulated hosts of the topology bench (bench/netns.py): the plan's names and addresses,
and that whatever the plan builds is removed again, also when the block inside fails."""

import os
import shutil
import subprocess

import pytest

from bench import netns


def test_every_name_carries_the_bench_prefix_and_fits_an_interface_name():
    network = netns.plan("18300", 4, "10.231.50")
    links = [network.bridge] + [network.veth(i) for i in range(4)]
    links += [network.peer(i) for i in range(4)]
    namespaces = [network.namespace(i) for i in range(4)]
    assert all(name.startswith("shopb-") for name in links + namespaces)
    assert all(len(name) <= 15 for name in links)
    assert len(set(links)) == len(links)


def test_a_plan_whose_interface_names_would_be_cut_is_refused():
    with pytest.raises(ValueError, match="longer than 15"):
        netns.plan("1830000", 20, "10.231.50")


@pytest.mark.parametrize("subnet", ["10.231", "10.231.50.0", "10.300.1", "ten.0.0"])
def test_a_subnet_is_three_octets(subnet):
    with pytest.raises(ValueError, match="three octets"):
        netns.plan("18300", 2, subnet)


def test_every_host_has_its_own_address_beside_the_bridge():
    network = netns.plan("18300", 4, "10.231.50")
    assert network.bridge_address == "10.231.50.1"
    assert network.addresses == ["10.231.50.10", "10.231.50.11", "10.231.50.12", "10.231.50.13"]


def test_two_benches_with_different_first_ports_share_no_name():
    def names(network):
        per_host = (network.veth, network.peer, network.namespace)
        return {network.bridge} | {name(i) for i in range(4) for name in per_host}

    one, other = netns.plan("18300", 4, "10.231.50"), netns.plan("18900", 4, "10.231.150")
    assert not names(one) & names(other)


def test_cleanup_removes_every_namespace_and_link_the_setup_makes():
    network = netns.plan("18300", 3, "10.231.50")
    made_namespaces = {c[3] for c in network.setup_commands() if c[1:3] == ["netns", "add"]}
    made_links = {c[3] for c in network.setup_commands() if c[1:3] == ["link", "add"]}
    removed = network.cleanup_commands()
    assert made_namespaces == {c[3] for c in removed if c[1:3] == ["netns", "del"]}
    assert made_links == {c[3] for c in removed if c[1:3] == ["link", "del"]}


def test_host_commands_run_inside_the_hosts_namespace():
    network = netns.plan("18300", 2, "10.231.50")
    assert network.exec_prefix(1) == ["ip", "netns", "exec", network.namespace(1)]


@pytest.mark.skipif(
    shutil.which("ip") is None or os.geteuid() != 0, reason="needs root and iproute2"
)
def test_the_namespaces_and_the_bridge_are_gone_after_a_failing_block():
    network = netns.plan(f"t{os.getpid() % 100000}", 2, "10.231.251")
    try:
        with pytest.raises(RuntimeError, match="inside"), netns.hosts(network):
            listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
            assert network.namespace(1) in listed.stdout
            raise RuntimeError("inside")
    except netns.Unavailable as reason:
        pytest.skip(f"network namespaces unavailable here: {reason}")
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    assert network.namespace(0) not in namespaces
    assert network.namespace(1) not in namespaces
    assert network.bridge not in links
    assert network.veth(0) not in links
