"""The plan maths: subnet sizes and counts, flannel's defaults, the MTU each backend
leaves, and the plan the preflight returns. Nothing here reports anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .inventory import Facts
from .model import DEFAULT_UNDERLAY_MTU, V4, Family, IPNetwork, as_int, etcd_prefix_faults, show

# Bytes each backend's encapsulation takes from the underlay MTU (flannel source:
# vxlan encapOverhead, udp encapOverhead, ipip "MTU - 20", wireguard overhead,
# ipsec ipsecOverhead; +8 more for ipsec with UDPEncap). host-gw only routes.
MTU_OVERHEAD: dict[str, int] = {
    "vxlan": 50,
    "udp": 28,
    "host-gw": 0,
    "ipip": 20,
    "wireguard": 80,
    "ipsec": 77,
}
IPSEC_UDP_ENCAP_OVERHEAD = 8
# Backends whose Backend.MTU key replaces the underlay MTU as the base.
BACKENDS_WITH_MTU_KEY = ("vxlan", "wireguard")


def default_subnet_len(prefix: int, family: Family = V4) -> int | None:
    """flannel's SubnetLen when none is given; None when the Network is too small."""
    if prefix > family.longest_prefix:
        return None
    if prefix <= family.default_subnet_len - 2:
        return family.default_subnet_len
    return prefix + 2


def subnet_size(net: IPNetwork, subnet_len: int) -> int:
    """How many addresses one node's subnet holds."""
    return 1 << (net.max_prefixlen - subnet_len)


def default_range(net: IPNetwork, size: int) -> tuple[int, int]:
    """flannel's SubnetMin and SubnetMax: the second subnet (it skips the first) and the
    last one, as integers."""
    return int(net.network_address) + size, int(net.broadcast_address) + 1 - size


def subnets_between(low: int, high: int, size: int) -> int:
    """The subnets from ``low`` to ``high``, both included (0 when low is above high)."""
    return 0 if low > high else (high - low) // size + 1


def backend_mtu_key(backend: str, backend_cfg: Mapping[str, Any]) -> int | None:
    """A Backend.MTU that replaces the underlay MTU as the base, if there is one."""
    if backend in BACKENDS_WITH_MTU_KEY and (backend_cfg.get("MTU") or 0) > 0:
        return backend_cfg["MTU"]
    return None


def overlay_mtu(backend: str, underlay_mtu: int, backend_cfg: Mapping[str, Any]) -> int | None:
    """The MTU flannel writes to subnet.env for ``backend`` on this underlay."""
    if backend not in MTU_OVERHEAD:
        return None
    base = backend_mtu_key(backend, backend_cfg) or underlay_mtu
    overhead = MTU_OVERHEAD[backend]
    if backend == "ipsec" and backend_cfg.get("UDPEncap"):
        overhead += IPSEC_UDP_ENCAP_OVERHEAD
    return base - overhead


def mtu_by_backend(underlay_mtu: int = DEFAULT_UNDERLAY_MTU) -> dict[str, int]:
    """The overlay MTU every data-path backend leaves on an underlay of ``underlay_mtu``."""
    mtu = as_int(underlay_mtu)
    if mtu is None:
        raise ValueError(f"underlay MTU must be an integer, got {show(underlay_mtu)}")
    return {name: mtu - overhead for name, overhead in MTU_OVERHEAD.items()}


def fits(available: int | None, needed: int) -> bool:
    """Whether every node can lease a subnet."""
    return available is not None and available >= needed


def facts_mtu(facts: Facts) -> int | None:
    """The overlay MTU of the configured backend on the declared underlay, if known."""
    if facts.backend is None or facts.underlay_mtu is None:
        return None
    return overlay_mtu(facts.backend, facts.underlay_mtu, facts.backend_cfg)


def assemble(facts: Facts) -> dict[str, Any]:
    """The ``plan`` of the preflight's result, from the facts the rules worked out."""
    v4 = facts.v4 or {}
    needed = len(facts.nodes)
    available = v4.get("subnets_available")
    mtu = facts.underlay_mtu
    prefix = facts.values["flannel_etcd_prefix"]
    plan: dict[str, Any] = {
        "network": v4.get("network"),
        "subnet_len": v4.get("subnet_len"),
        "subnet_len_from": v4.get("subnet_len_from"),
        "subnet_min": v4.get("subnet_min"),
        "subnet_max": v4.get("subnet_max"),
        "subnets_available": available,
        "subnets_needed": needed,
        "fits": fits(available, needed),
        "backend": facts.backend,
        "mtu": facts_mtu(facts),
        "underlay_mtu": mtu,
        "mtu_by_backend": mtu_by_backend(mtu) if mtu is not None else {},
        "etcd_prefix": prefix,
        "config_key": f"{prefix}/config" if etcd_prefix_faults(prefix) == [] else None,
        "etcd_members": sorted(facts.etcd),
        "nodes": sorted(facts.nodes),
    }
    if facts.v6 is not None:
        plan["ipv6"] = facts.v6
    return plan
