"""The lab's settings (Config, from FLAB_* variables), its error type, and the checks
that the lab network collides with nothing the controller or the hosts use."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
RELEASES = ("bookworm", "trixie")


MAX_HOSTS = 40


class LabError(Exception):
    """A problem the user can act on; printed without a traceback."""


@dataclass(frozen=True)
class Config:
    """Where the lab lives and how it is addressed. Every field has an env override."""

    state: Path
    cache: Path
    cidr: ipaddress.IPv4Network
    bridge: str = "flab0"
    prefix: str = "flab"
    port: int = 8089
    mirror: str = "http://deb.debian.org/debian"
    flannel_network: ipaddress.IPv4Network = ipaddress.IPv4Network("10.244.0.0/16")
    inventory: Path = PROJECT / "inventory" / "lab" / "hosts.yml"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        try:
            cidr = ipaddress.IPv4Network(env.get("FLAB_CIDR", "10.77.0.0/24"))
            flannel = ipaddress.IPv4Network(env.get("FLAB_FLANNEL_NETWORK", "10.244.0.0/16"))
        except ValueError as exc:
            raise LabError(f"FLAB_CIDR/FLAB_FLANNEL_NETWORK: {exc}") from exc
        if cidr.prefixlen > 26:
            raise LabError(f"FLAB_CIDR {cidr}: too small, use a /26 or larger")
        return cls(
            state=Path(env.get("FLAB_STATE", "/var/lib/flannel-lab")).resolve(),
            cache=Path(env.get("FLAB_CACHE", str(PROJECT / ".cache"))).resolve(),
            cidr=cidr,
            bridge=env.get("FLAB_BRIDGE", "flab0"),
            prefix=env.get("FLAB_PREFIX", "flab"),
            port=int(env.get("FLAB_PORT", "8089")),
            mirror=env.get("FLAB_MIRROR", "http://deb.debian.org/debian"),
            flannel_network=flannel,
            inventory=Path(env.get("FLAB_INVENTORY", str(PROJECT / "inventory/lab/hosts.yml"))),
        )

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The controller's address on the lab bridge (serves the apt repository)."""
        return self.cidr.network_address + 1

    def host_name(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def host_ip(self, index: int) -> ipaddress.IPv4Address:
        return self.cidr.network_address + 10 + index

    def is_host(self, name: str) -> bool:
        """True for names of this lab's hosts (flab1, flab2, ...; not flab0 or flabx1)."""
        return re.fullmatch(re.escape(self.prefix) + r"[0-9]+", name) is not None

    def host_dir(self, name: str) -> Path:
        return self.state / "hosts" / name

    @property
    def key(self) -> Path:
        return self.state / "ssh" / "id_ed25519"

    @property
    def markers(self) -> tuple[str, ...]:
        """Path prefixes that identify processes and mounts belonging to the lab."""
        return (str(self.state), str(self.build_tmp))

    @property
    def build_tmp(self) -> Path:
        """Where base trees are built before they are moved into the cache."""
        return self.cache / "base" / ".tmp"


# --------------------------------------------------------------------------- networks


def overlaps(cidr: ipaddress.IPv4Network, others: Iterable[str]) -> list[str]:
    """Return the entries of `others` (CIDRs or addresses) that overlap `cidr`."""
    hits = []
    for other in others:
        try:
            net = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue
        if net.version == 4 and net.prefixlen > 0 and cidr.overlaps(net):
            hits.append(str(net))
    return hits


def check_collisions(cfg: Config, own: list[str]) -> None:
    """Refuse a lab network that collides with the controller or the overlay."""
    problems = []
    hits = overlaps(cfg.cidr, own)
    if hits:
        problems.append(f"the controller's own networks {', '.join(sorted(set(hits)))}")
    if cfg.cidr.overlaps(cfg.flannel_network):
        problems.append(f"the flannel network {cfg.flannel_network}")
    docker_default = ipaddress.IPv4Network("172.17.0.0/16")
    if cfg.cidr.overlaps(docker_default):
        problems.append(f"Docker's default bridge {docker_default} (used inside the hosts)")
    if problems:
        raise LabError(
            f"lab network {cfg.cidr} overlaps {'; '.join(problems)}. "
            "Pick another range with FLAB_CIDR=..."
        )
