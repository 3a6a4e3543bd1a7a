"""The rules on ``flannel_network_config`` alone, but for its Backend (backend_rules.py):
its keys, the subnets of each address family and the ranges the Network overlaps. Each
``check_*`` is one rule of ``rules.RULES``; docs/preflight.md lists them with their
messages.

Some rules also record what they read in :class:`Facts` (the canonical keys, each
family's subnet plan), for the rules after them and for the plan.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from ipaddress import IPv4Network
from typing import Any

from .inventory import Facts
from .model import (
    CONFIG_VAR,
    KIND_NAMES,
    SECRET_KEYS,
    TOP_LEVEL_KEYS,
    V4,
    V6,
    Family,
    IPNetwork,
    Report,
    is_kind,
    parse_address,
    parse_network,
    show,
    suggest,
    type_name,
)
from .plan import default_range, default_subnet_len, subnet_size, subnets_between

DOCKER_DEFAULT_BRIDGE = IPv4Network("172.17.0.0/16")
DOCKER_DEFAULT_POOLS = tuple(IPv4Network(f"172.{n}.0.0/16") for n in range(17, 32)) + (
    IPv4Network("192.168.0.0/16"),
)
SPECIAL_RANGES_V4: tuple[tuple[IPv4Network, str], ...] = (
    (IPv4Network("0.0.0.0/8"), "'this network'"),
    (IPv4Network("127.0.0.0/8"), "loopback"),
    (IPv4Network("169.254.0.0/16"), "link-local"),
    (IPv4Network("224.0.0.0/4"), "multicast"),
    (IPv4Network("240.0.0.0/4"), "reserved/broadcast"),
)


def canonical_keys(
    given: Mapping[Any, Any],
    known: Mapping[str, type],
    where: str,
    report: Report,
    foreign: Callable[[str], str] | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """Map ``given`` onto the ``known`` key spelling the way Go's encoding/json does.

    Returns the canonical dict and the set of keys whose value has the wrong type (they
    are reported here and left out of the dict).
    """
    by_lower = {key.lower(): key for key in known}
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    invalid: set[str] = set()
    for key, value in given.items():
        if not isinstance(key, str):
            report.error(f"{where}: key {show(key)} is not a string")
            continue
        canon = by_lower.get(key.lower())
        if canon is None:
            hint = suggest(key, known)
            if hint is not None:
                tail = f"did you mean {hint}?"
            else:
                tail = f"known keys: {', '.join(sorted(known))}"
                other = foreign(key) if foreign else ""
                tail = f"{other}; {tail}" if other else tail
            report.error(f"{where}.{key}: unknown key, flannel would ignore it silently ({tail})")
            continue
        if canon in spelled:
            report.error(
                f"{where}.{key}: given twice (also as {spelled[canon]}); flannel matches keys "
                "case-insensitively and would use only one of them"
            )
            continue
        spelled[canon] = key
        kind = known[canon]
        if not is_kind(value, kind):
            shown = type_name(value) if canon in SECRET_KEYS else show(value)
            if kind is dict:
                shown = type_name(value)
            report.error(f"{where}.{canon}: must be {KIND_NAMES[kind]}, got {shown}")
            invalid.add(canon)
            continue
        out[canon] = value
    return out, invalid


def check_config_keys(facts: Facts, report: Report) -> None:
    """A mapping of flannel's top-level keys, each known, given once and of its JSON type."""
    config = facts.values[CONFIG_VAR]
    if not isinstance(config, Mapping):
        report.error(
            f"{CONFIG_VAR}: must be a mapping of flannel's JSON keys (Network, SubnetLen, "
            f"Backend, ...), got {type_name(config)}"
        )
        return
    facts.config, facts.invalid = canonical_keys(config, TOP_LEVEL_KEYS, CONFIG_VAR, report)


def check_enable_ipv4(facts: Facts, report: Report) -> None:
    """EnableIPv4: false is refused: Docker's --bip comes from the IPv4 subnet."""
    if facts.config is not None and facts.config.get("EnableIPv4") is False:
        report.error(
            f"{CONFIG_VAR}.EnableIPv4: false is not supported by this toolkit: Docker's "
            "--bip comes from the IPv4 FLANNEL_SUBNET"
        )


def check_family(
    cfg: Mapping[str, Any], invalid: set[str], family: Family, report: Report
) -> dict[str, Any] | None:
    """Network, SubnetLen, SubnetMin and SubnetMax of one family, as flannel checks them.

    Returns the family's plan, or None when the Network itself is unusable.
    """
    net_where = f"{CONFIG_VAR}.{family.net_key}"
    if family.net_key in invalid:
        return None
    raw = cfg.get(family.net_key)
    if raw is None:
        extra = " (EnableIPv6 is true)" if family.version == 6 else ""
        report.error(
            f"{net_where}: missing; flannel needs an IPv{family.version} CIDR "
            f"such as {family.example}{extra}"
        )
        return None
    net, reason = parse_network(raw, family.version, family.example)
    if net is None:
        report.error(f"{net_where}: {reason}")
        return None
    prefix = net.prefixlen

    len_where = f"{CONFIG_VAR}.{family.len_key}"
    plan: dict[str, Any] = {"network": str(net)}
    if family.len_key in invalid:
        return plan
    given_len = cfg.get(family.len_key)
    if given_len is None or given_len == 0:  # flannel treats 0 as "not given"
        subnet_len = default_subnet_len(prefix, family)
        if subnet_len is None:
            report.error(
                f"{net_where}: /{prefix} is too small; flannel needs a prefix of "
                f"/{family.longest_prefix} or shorter (at least four subnets)"
            )
            return plan
        plan["subnet_len_from"] = "default"
    else:
        subnet_len = given_len
        if subnet_len > family.max_subnet_len or subnet_len < prefix + 2:
            report.error(
                f"{len_where}: {subnet_len} is outside what flannel accepts (must be "
                f"<= {family.max_subnet_len} and >= {family.net_key} prefix + 2 = {prefix + 2})"
            )
            return plan
        plan["subnet_len_from"] = family.len_key
    plan["subnet_len"] = subnet_len

    size = subnet_size(net, subnet_len)
    first = int(net.network_address)
    address = type(net.network_address)  # IPv4Address or IPv6Address, from an int
    low, high = default_range(net, size)
    bounds: dict[str, int | None] = {family.min_key: low, family.max_key: high}
    for key in (family.min_key, family.max_key):
        where = f"{CONFIG_VAR}.{key}"
        if key in invalid:
            bounds[key] = None
            continue
        raw_addr = cfg.get(key)
        if raw_addr is None:
            continue
        addr = parse_address(raw_addr)
        if addr is None or addr.version != family.version:
            report.error(
                f"{where}: {show(raw_addr)} is not an IPv{family.version} address (give the "
                f"first address of a subnet, without /len, e.g. "
                f"{address(first + size)})"
            )
            bounds[key] = None
            continue
        if family.version == 4 and int(addr) == 0:
            continue  # flannel reads 0.0.0.0 as "not given"
        if addr not in net:
            report.error(f"{where}: {addr} is outside {family.net_key} {net}")
            bounds[key] = None
            continue
        if (int(addr) - first) % size:
            start = address(int(addr) - (int(addr) - first) % size)
            report.error(
                f"{where}: {addr} is not on a /{subnet_len} boundary ({family.len_key}); "
                f"the subnet holding it starts at {start}"
            )
            bounds[key] = None
            continue
        if key == family.min_key and int(addr) == first:
            report.warn(
                f"{where}: {addr} is the first subnet of {family.net_key}, which flannel "
                "skips by default: the node leasing it gets an address that clashes with "
                "the network address"
            )
        bounds[key] = int(addr)
    low, high = bounds[family.min_key], bounds[family.max_key]
    if low is not None:
        plan["subnet_min"] = str(address(low))
    if high is not None:
        plan["subnet_max"] = str(address(high))
    if low is None or high is None:
        return plan
    if low > high:
        report.error(
            f"{CONFIG_VAR}.{family.min_key}: {plan['subnet_min']} is above {family.max_key} "
            f"{plan['subnet_max']}; flannel does not check this and every lease would fail "
            "with 'out of subnets'"
        )
    plan["subnets_available"] = subnets_between(low, high, size)
    return plan


def check_ipv4_subnets(facts: Facts, report: Report) -> None:
    """Network, SubnetLen, SubnetMin and SubnetMax; records the IPv4 subnet plan."""
    if facts.config is not None:
        facts.v4 = check_family(facts.config, facts.invalid, V4, report)


def check_ipv6_subnets(facts: Facts, report: Report) -> None:
    """With EnableIPv6, the same for the IPv6 keys; records the IPv6 subnet plan."""
    if facts.config is not None and facts.ipv6:
        facts.v6 = check_family(facts.config, facts.invalid, V6, report)


def check_ipv6_keys_ignored(facts: Facts, report: Report) -> None:
    """IPv6 keys without EnableIPv6: true are ignored by flannel: a warning."""
    if facts.config is None or facts.ipv6:
        return
    ignored = [k for k in (V6.net_key, V6.len_key, V6.min_key, V6.max_key) if k in facts.config]
    if ignored:
        report.warn(
            f"{CONFIG_VAR}.{ignored[0]}: set but EnableIPv6 is not true, so flannel "
            "ignores the IPv6 keys"
        )


def check_special_ranges(facts: Facts, report: Report) -> None:
    """Network must not overlap 'this network', loopback, link-local, multicast, reserved."""
    net = facts.network
    if net is None or net.version != 4:
        return
    for special, what in SPECIAL_RANGES_V4:
        if net.overlaps(special):
            report.error(
                f"{CONFIG_VAR}.Network: {net} overlaps the {what} range {special}; "
                "container addresses must be ordinary unicast addresses"
            )


def check_docker_ranges(facts: Facts, report: Report) -> None:
    """Docker's default bridge and address pools: a clash is legal but worth knowing."""
    net: IPNetwork | None = facts.network
    if net is None or net.version != 4:
        return
    hits = []
    if net.overlaps(DOCKER_DEFAULT_BRIDGE):
        hits.append(f"default bridge {DOCKER_DEFAULT_BRIDGE}")
    pools = [
        str(pool)
        for pool in DOCKER_DEFAULT_POOLS
        if pool != DOCKER_DEFAULT_BRIDGE and net.overlaps(pool)
    ]
    if pools:
        hits.append(f"default address pools ({', '.join(pools)})")
    if not hits:
        return
    report.warn(
        f"{CONFIG_VAR}.Network: {net} overlaps Docker's {' and '.join(hits)}. docker0 moves "
        "onto the flannel subnet, so that is fine for it, but user-defined Docker networks "
        "take their subnets from the default pools and may collide: set "
        "default-address-pools in daemon.json if you create any"
    )
