"""The rules that look at the inventory: the groups and their addresses, the cluster-wide
variables, the etcd prefix, the ranges the Network must not overlap, the backend against
the nodes, the TLS files and whether the subnets fit the nodes. Each ``check_*`` is one
rule of ``rules.RULES``; docs/preflight.md lists them with their messages.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, Sequence
from typing import Any

from .inventory import TLS_FILE_VARS, TLS_PAIRS, Facts, Hosts, host_address, member_address
from .model import (
    CONFIG_VAR,
    DEFAULT_ETCD_PREFIX,
    MAX_MTU,
    MIN_MTU_V4,
    IPNetwork,
    Report,
    describe_hosts,
    etcd_prefix_faults,
    parse_address,
    parse_cidr,
    show,
    type_name,
)
from .plan import fits

# The engine rule is the docker role's own (one function for both); inside the built
# collection it is a sibling module, in the repository a top-level one (see __init__).
try:
    from .. import flannel_docker_engine as docker_engine
except ImportError:
    import flannel_docker_engine as docker_engine  # type: ignore[no-redef]


def check_templating(facts: Facts, report: Report) -> None:
    """A host variable that fails to template."""
    for (var, message), names in facts.unresolved.items():
        report.error(
            f"{var}: could not be templated for host(s) {describe_hosts(names)}: {message}"
        )


def check_cluster_vars(facts: Facts, report: Report) -> None:
    """A cluster-wide variable must be the same on every host in nodes."""
    for var, sides in facts.differing.items():
        report.error(
            f"{var}: differs between hosts of group nodes "
            f"({' vs '.join(describe_hosts(names) for names in sides)}); it describes the "
            "whole cluster, so set it once (e.g. in group_vars/all)"
        )


def check_underlay_prefix(facts: Facts, report: Report) -> None:
    """flannel_underlay_prefix must be an integer 0..32."""
    if facts.underlay_prefix is None:
        report.error(
            "flannel_underlay_prefix: "
            f"{show(facts.values['flannel_underlay_prefix'])} must be an integer between 0 and 32"
        )


def check_underlay_mtu(facts: Facts, report: Report) -> None:
    """flannel_underlay_mtu must be an integer 68..65535."""
    if facts.underlay_mtu is None:
        report.error(
            f"flannel_underlay_mtu: {show(facts.values['flannel_underlay_mtu'])} must be an "
            f"integer between {MIN_MTU_V4} and {MAX_MTU}"
        )


def check_groups(facts: Facts, report: Report) -> None:
    """The etcd and nodes groups exist, etcd has an odd size, no two hosts share an address."""
    etcd, nodes = facts.etcd, facts.nodes
    if not etcd:
        report.error(
            "groups.etcd: the inventory has no 'etcd' group or it is empty; "
            "list the etcd members there (1, 3 or 5 hosts)"
        )
    elif len(etcd) % 2 == 0:
        tolerated = (len(etcd) - 1) // 2
        report.warn(
            f"groups.etcd: {len(etcd)} members is an even number; it survives {tolerated} "
            f"failed member(s), no more than {len(etcd) - 1} would, so use an odd number "
            "(1, 3 or 5)"
        )
    if not nodes:
        report.error(
            "groups.nodes: the inventory has no 'nodes' group or it is empty; "
            "list every host that runs flanneld and Docker there"
        )
    for group, hosts, address_of, why in (
        ("etcd", etcd, member_address, "each etcd member needs its own peer URL"),
        (
            "nodes",
            nodes,
            host_address,
            "flannel keys each lease by the node's PublicIP, so they would share one",
        ),
    ):
        by_address: dict[str, list[str]] = {}
        for name, hostvars in hosts.items():
            by_address.setdefault(address_of(name, hostvars), []).append(name)
        for address, names in by_address.items():
            if len(names) > 1:
                source = (
                    "etcd_address"
                    if any(hosts[n].get("etcd_address") not in (None, "") for n in names)
                    and address_of is member_address
                    else "ansible_host"
                )
                report.error(
                    f"groups.{group}: hosts {describe_hosts(names)} share the address "
                    f"{address} ({source}); {why}"
                )


def check_etcd_prefix(facts: Facts, report: Report) -> None:
    """flannel_etcd_prefix must be an absolute etcd key path."""
    where = "flannel_etcd_prefix"
    prefix = facts.values[where]
    reasons = etcd_prefix_faults(prefix)
    if reasons is None:
        report.error(f"{where}: must be a string such as {DEFAULT_ETCD_PREFIX}, got {show(prefix)}")
    elif reasons:
        report.error(
            f"{where}: {show(prefix)} is not an absolute etcd key path such as "
            f"{DEFAULT_ETCD_PREFIX}: {'; '.join(reasons)}"
        )


def hosts_inside(net: IPNetwork, hosts: Hosts, report: Report) -> None:
    """No inventory address may fall inside ``net`` (names are skipped)."""
    inside = []
    for name, hostvars in hosts.items():
        addr = parse_address(host_address(name, hostvars))
        if addr is not None and addr.version == net.version and addr in net:
            inside.append(f"{name} ({addr})")
    if inside:
        report.error(
            f"{CONFIG_VAR}.Network: {net} contains the address of host(s) {', '.join(inside)}; "
            "the overlay must not overlap the hosts' own network"
        )


def ranges_against(
    net: IPNetwork | None,
    reserved_cidrs: Any,
    lab_cidr: Any,
    report: Report,
    net_where: str = f"{CONFIG_VAR}.Network",
) -> None:
    """``net`` against flannel_reserved_cidrs and lab_cidr (validating both)."""
    ranges: list[tuple[str, IPNetwork]] = []
    if reserved_cidrs is not None and (
        isinstance(reserved_cidrs, str | bytes) or not isinstance(reserved_cidrs, Sequence)
    ):
        report.error(
            f"flannel_reserved_cidrs: must be a list of CIDRs, got {type_name(reserved_cidrs)}"
            + (f" {show(reserved_cidrs)}" if isinstance(reserved_cidrs, str) else "")
        )
    else:
        for index, entry in enumerate(reserved_cidrs or []):
            name = f"flannel_reserved_cidrs[{index}]"
            cidr = parse_cidr(entry)
            if cidr is None:
                report.error(f"{name}: {show(entry)} is not a CIDR (such as 10.96.0.0/12)")
            else:
                ranges.append((name, cidr))
    if lab_cidr is not None and lab_cidr != "":
        cidr = parse_cidr(lab_cidr)
        if cidr is None:
            report.error(f"lab_cidr: {show(lab_cidr)} is not a CIDR (such as 10.77.0.0/24)")
        else:
            ranges.append(("lab_cidr", cidr))
    if net is None:
        return
    for name, cidr in ranges:
        if cidr.version == net.version and net.overlaps(cidr):
            what = " (the lab's underlay network)" if name == "lab_cidr" else ""
            report.error(f"{net_where}: {net} overlaps {name} {cidr}{what}")


def check_host_addresses(facts: Facts, report: Report) -> None:
    """Network must not contain the address of a host in etcd or nodes."""
    if facts.network is not None:
        hosts_inside(facts.network, facts.all_hosts, report)


def check_reserved_ranges(facts: Facts, report: Report) -> None:
    """flannel_reserved_cidrs and lab_cidr are CIDRs, and Network overlaps none of them."""
    values = facts.values
    ranges_against(facts.network, values["flannel_reserved_cidrs"], values["lab_cidr"], report)


def check_ipv6_overlaps(facts: Facts, report: Report) -> None:
    """With EnableIPv6: IPv6Network against the hosts' and the reserved IPv6 ranges."""
    if not facts.v6:
        return
    net6 = ipaddress.ip_network(facts.v6["network"])
    hosts_inside(net6, facts.all_hosts, report)
    reserved = facts.values["flannel_reserved_cidrs"]
    ranges_against(net6, reserved, None, report, f"{CONFIG_VAR}.IPv6Network")


def check_host_gw(facts: Facts, report: Report) -> None:
    """host-gw routes straight to the other nodes, so they must share one L2 subnet."""
    underlay_prefix = facts.underlay_prefix
    if facts.backend != "host-gw" or underlay_prefix is None:
        return
    subnets: dict[str, list[str]] = {}
    unknown = []
    for name, hostvars in facts.nodes.items():
        addr = parse_address(host_address(name, hostvars))
        if addr is None or addr.version != 4:
            unknown.append(name)
            continue
        subnet = ipaddress.ip_network(f"{addr}/{underlay_prefix}", strict=False)
        subnets.setdefault(str(subnet), []).append(name)
    if len(subnets) > 1:
        spread = "; ".join(f"{net}: {describe_hosts(names)}" for net, names in subnets.items())
        report.error(
            f"{CONFIG_VAR}.Backend.Type: host-gw needs every node on one L2 segment, but the "
            f"nodes' addresses are not in one /{underlay_prefix} (flannel_underlay_prefix): "
            f"{spread}; use vxlan (optionally with DirectRouting) instead"
        )
    if unknown:
        report.warn(
            f"{CONFIG_VAR}.Backend.Type: host-gw needs L2 adjacency, which cannot be checked "
            f"for nodes not given by IPv4 address: {describe_hosts(unknown)}"
        )


def check_udp_arch(facts: Facts, report: Report) -> None:
    """The udp backend exists only in amd64 builds of flanneld (it needs cgo)."""
    if facts.backend != "udp":
        return
    archs: dict[Any, list[str]] = {}
    owners = list(facts.nodes.items()) or [("", {})]
    for name, hostvars in owners:
        arch = hostvars.get("flannel_arch", facts.arch)
        if arch != "amd64":
            archs.setdefault(arch, []).append(name)
    for arch, names in archs.items():
        on = f" (host(s) {describe_hosts(names)})" if any(names) else ""
        report.error(
            f"flannel_arch: {show(arch)} cannot run the udp backend{on}; flanneld has udp "
            "only in amd64 builds, so use vxlan"
        )


def resolve_file(path: str, search_dirs: Sequence[str]) -> tuple[str | None, list[str]]:
    """The first existing candidate for ``path`` and the list of places looked at."""
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        candidates = [expanded]
    else:
        dirs = [*search_dirs, os.getcwd()]
        candidates = list(dict.fromkeys(os.path.join(d, expanded) for d in dirs if d))
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate, candidates
    return None, candidates


def find_controller_file(
    var: str, path: str, on: str, search_dirs: Sequence[str], report: Report
) -> str | None:
    """The controller file ``path`` of ``var``, or None after reporting that it does not
    exist (``on`` names the hosts that use it)."""
    found, looked = resolve_file(path, search_dirs)
    if found is None:
        where = (
            "" if os.path.isabs(os.path.expanduser(path)) else f"; looked in {', '.join(looked)}"
        )
        report.error(f"{var}: {path} does not exist on the controller{on}{where}")
    return found


def check_tls_files(facts: Facts, report: Report) -> None:
    """User-supplied TLS files: each given one must exist; cert and key come in pairs."""
    defaults: Mapping[str, Any] = facts.tls_defaults
    uses: dict[tuple[str, str], list[str]] = {}
    lonely: dict[tuple[str, str], list[str]] = {}
    owners = list(facts.all_hosts.items()) or [("", {})]
    for name, hostvars in owners:
        values = {var: hostvars.get(var, defaults.get(var)) for var in TLS_FILE_VARS}
        for var, value in values.items():
            if value in (None, ""):
                continue
            if not isinstance(value, str):
                report.error(f"{var}: must be a path on the controller, got {show(value)}")
                continue
            uses.setdefault((var, value), []).append(name)
        for first, second in TLS_PAIRS:
            given = [v for v in (first, second) if values.get(v) not in (None, "")]
            if len(given) == 1:
                missing = second if given[0] == first else first
                lonely.setdefault((missing, given[0]), []).append(name)
    everyone = sorted(name for name, _ in owners)

    def which(names: list[str], label: str) -> str:
        """Name the hosts only when the value is not the same for all of them."""
        if not any(names) or sorted(names) == everyone:
            return ""
        return f" ({label} {describe_hosts(names)})"

    for (missing, given), names in lonely.items():
        on = which(names, "host(s)")
        report.error(
            f"{missing}: must be given together with {given}{on}; a certificate is "
            "useless without its key and the other way round"
        )
    for (var, path), names in uses.items():
        on = which(names, "used by")
        found = find_controller_file(var, path, on, facts.search_dirs, report)
        if found is None:
            continue
        if not os.path.isfile(found):
            report.error(f"{var}: {found} is not a regular file{on}")
        elif not _holds_pem(found):
            report.error(
                f"{var}: {found} holds no PEM block (-----BEGIN ...){on}; give the PEM "
                "certificate or key file, not a DER file or another file"
            )


def _holds_pem(path: str) -> bool:
    """The file starts a PEM block within its first 64 KiB (an unreadable one counts:
    the run reads it later and says why)."""
    try:
        with open(path, "rb") as fh:
            return b"-----BEGIN " in fh.read(65536)
    except OSError:
        return True


def check_subnets_fit(facts: Facts, report: Report) -> None:
    """Enough subnets between SubnetMin and SubnetMax for every host in nodes."""
    v4 = facts.v4 or {}
    needed = len(facts.nodes)
    available = v4.get("subnets_available")
    # 0 only happens with SubnetMin above SubnetMax, which has its own error.
    if available and not fits(available, needed):
        span = f"between SubnetMin {v4['subnet_min']} and SubnetMax {v4['subnet_max']}"
        report.error(
            f"{CONFIG_VAR}: only {available} subnet(s) of /{v4['subnet_len']} fit "
            f"{span}, but group nodes has {needed} hosts and each leases one; widen "
            "SubnetMin/SubnetMax, shorten SubnetLen or use a larger Network"
        )


def check_ipv6_subnets_fit(facts: Facts, report: Report) -> None:
    """With EnableIPv6: enough IPv6 subnets for every host in nodes."""
    v6 = facts.v6
    needed = len(facts.nodes)
    if v6 and v6.get("subnets_available") is not None and v6["subnets_available"] < needed:
        report.error(
            f"{CONFIG_VAR}: only {v6['subnets_available']} IPv6 subnet(s) of "
            f"/{v6['subnet_len']} fit between IPv6SubnetMin and IPv6SubnetMax, but "
            f"group nodes has {needed} hosts"
        )


def check_docker_engines(facts: Facts, report: Report) -> None:
    """Docker's firewall backend and a pinned engine can carry the overlay (per node)."""
    nftables: list[str] = []
    refused: dict[tuple[str, str], list[str]] = {}
    for name, hostvars in facts.nodes.items():
        backend = hostvars.get("docker_firewall_backend", "iptables")
        if backend not in docker_engine.BACKENDS:
            continue  # the role's argument spec names the choices
        if backend == "nftables" and facts.config and facts.config.get("EnableNFTables") is True:
            nftables.append(name)
        pinned = hostvars.get("docker_version")
        if hostvars.get("docker_install_method") != "repo" or not isinstance(pinned, str):
            continue  # only the repo method installs the version it is given
        version = docker_engine.engine_version(pinned)
        problem = docker_engine.engine_problem(version, backend) if version else None
        if problem:
            refused.setdefault((pinned, problem), []).append(name)
    if nftables:
        report.error(
            f"docker_firewall_backend: nftables together with {CONFIG_VAR}.EnableNFTables "
            f"(host(s) {describe_hosts(nftables)}) has not been proven on the lab, so it is "
            "refused: use docker_firewall_backend: iptables, or leave EnableNFTables off"
        )
    for (pinned, problem), names in refused.items():
        on = describe_hosts(names)
        report.error(f"docker_version: {show(pinned)} on host(s) {on}: {problem}")
