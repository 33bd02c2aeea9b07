"""Simulated hosts on one machine: a network namespace per web host, each joined by a veth
pair to a bridge in the root namespace, on a private /24 (the bridge is .1, host i is .10+i).

The plan (names, addresses, the ``ip`` commands that build and remove it) is pure data, so it
is tested without root; ``hosts()`` runs it and always removes what it made.
"""

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

# Every name the bench gives a namespace or an interface starts with this.
PREFIX = "shopb-"
# Linux interface names hold at most 15 characters (IFNAMSIZ - 1).
IFNAME_MAX = 15


class Unavailable(RuntimeError):
    """Network namespaces cannot be made here (not root, no ``ip``, or the kernel refuses)."""


@dataclass(frozen=True)
class Network:
    tag: str  # tells two benches on one machine apart (their first port)
    subnet: str  # the first three octets of the /24
    count: int  # web hosts

    @property
    def bridge(self) -> str:
        return f"{PREFIX}{self.tag}b"

    @property
    def bridge_address(self) -> str:
        return f"{self.subnet}.1"

    def namespace(self, index: int) -> str:
        return f"{PREFIX}{self.tag}-web{index}"

    def veth(self, index: int) -> str:
        """The root namespace's end of host ``index``'s veth pair (a port of the bridge)."""
        return f"{PREFIX}{self.tag}v{index}"

    def peer(self, index: int) -> str:
        """The host's own end, inside its namespace."""
        return f"{PREFIX}{self.tag}p{index}"

    def address(self, index: int) -> str:
        return f"{self.subnet}.{10 + index}"

    @property
    def addresses(self) -> list[str]:
        return [self.address(i) for i in range(self.count)]

    def setup_commands(self) -> list[list[str]]:
        cidr = "/24"
        commands = [
            ["ip", "link", "add", self.bridge, "type", "bridge"],
            ["ip", "addr", "add", self.bridge_address + cidr, "dev", self.bridge],
            ["ip", "link", "set", self.bridge, "up"],
        ]
        for i in range(self.count):
            ns, veth, peer = self.namespace(i), self.veth(i), self.peer(i)
            commands += [
                ["ip", "netns", "add", ns],
                ["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                ["ip", "link", "set", peer, "netns", ns],
                ["ip", "link", "set", veth, "master", self.bridge],
                ["ip", "link", "set", veth, "up"],
                ["ip", "-n", ns, "addr", "add", self.address(i) + cidr, "dev", peer],
                ["ip", "-n", ns, "link", "set", peer, "up"],
                ["ip", "-n", ns, "link", "set", "lo", "up"],
            ]
        return commands

    def cleanup_commands(self) -> list[list[str]]:
        """Removing a namespace removes the veth end inside it and so its peer; the explicit
        link deletions catch a pair whose end never moved into its namespace."""
        commands = []
        for i in range(self.count):
            commands += [
                ["ip", "netns", "del", self.namespace(i)],
                ["ip", "link", "del", self.veth(i)],
            ]
        commands.append(["ip", "link", "del", self.bridge])
        return commands

    def exec_prefix(self, index: int) -> list[str]:
        """Run a command inside host ``index``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(index)]


def plan(tag: str, count: int, subnet: str) -> Network:
    octets = subnet.split(".")
    if len(octets) != 3 or not all(o.isdigit() and 0 <= int(o) <= 255 for o in octets):
        raise ValueError(f"a subnet is three octets, like 10.231.50 (got {subnet!r})")
    if not 1 <= count <= 200:
        raise ValueError(f"between 1 and 200 hosts on a /24 (got {count})")
    network = Network(tag=tag, subnet=subnet, count=count)
    longest = max([network.bridge, network.veth(count - 1), network.peer(count - 1)], key=len)
    if len(longest) > IFNAME_MAX:
        raise ValueError(f"interface name {longest!r} is longer than {IFNAME_MAX} characters")
    return network


def _ip(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)


def namespace_pids(network: Network) -> list[int]:
    pids = []
    for i in range(network.count):
        done = _ip(["ip", "netns", "pids", network.namespace(i)])
        pids += [int(pid) for pid in done.stdout.split() if pid.isdigit()]
    return pids


def remove(network: Network) -> None:
    """Remove every namespace, veth and the bridge of ``network`` that exists (quietly)."""
    for command in network.cleanup_commands():
        _ip(command)


@contextlib.contextmanager
def hosts(network: Network) -> Iterator[Network]:
    """Build the namespaces and the bridge; remove them on the way out, whatever happens."""
    if shutil.which("ip") is None:
        raise Unavailable("the `ip` command is missing (iproute2)")
    remove(network)  # what a killed earlier run of the same bench left behind
    try:
        for command in network.setup_commands():
            done = _ip(command)
            if done.returncode != 0:
                raise Unavailable(f"`{' '.join(command)}` failed: {done.stderr.strip()}")
        yield network
    finally:
        remove(network)
