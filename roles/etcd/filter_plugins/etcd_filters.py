"""Controller-side filters of the etcd role: the parts of its logic worth unit tests.

``text | etcd_json_or_none``
    Parse a stored JSON value; None when it is empty or not JSON (so a broken value
    simply compares unequal and gets rewritten).
``config | etcd_flannel_config_problems``
    What flanneld would reject (or hang on: it never exits on a bad config) in a
    flannel network config, as a list of messages; empty when it is usable.
``names | etcd_sans``
    Subject alternative names (``IP:...``/``DNS:...``) for addresses and host names,
    without duplicates, in the given order.
``member_list | etcd_initial_cluster(name, peer_url)``
    The ``initial-cluster`` value for a member that joins a running cluster, from
    ``etcdctl member list -w json`` (or ``member add -w json``) output: every member
    as name=peerURL, the joining member (not started, so nameless) under ``name``.
``member_list | etcd_member_by_peer_url(peer_url)``
    The member entry whose peer URLs contain ``peer_url``, or None.
``output | etcd_version``
    The version from ``etcd --version`` output ("3.5.16"), or "" when absent.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any


def etcd_json_or_none(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _key(config: Mapping[str, Any], name: str) -> str | None:
    """flannel matches JSON keys case-insensitively: find the key spelled any way."""
    for key in config:
        if isinstance(key, str) and key.lower() == name.lower():
            return key
    return None


def etcd_flannel_config_problems(config: Any) -> list[str]:
    if not isinstance(config, Mapping):
        return [f"the flannel network config must be a mapping, got {type(config).__name__}"]
    problems: list[str] = []
    enable_v4_key = _key(config, "EnableIPv4")
    enable_v4 = config.get(enable_v4_key, True) if enable_v4_key else True
    net_key = _key(config, "Network")
    network: ipaddress.IPv4Network | None = None
    if enable_v4 is not False:
        if net_key is None:
            problems.append("Network is missing (an IPv4 CIDR such as 10.244.0.0/16)")
        else:
            try:
                network = ipaddress.IPv4Network(str(config[net_key]), strict=True)
            except ValueError as exc:
                problems.append(f"Network {config[net_key]!r} is not an IPv4 network: {exc}")
    len_key = _key(config, "SubnetLen")
    if len_key is not None:
        subnet_len = config[len_key]
        if isinstance(subnet_len, bool) or not isinstance(subnet_len, int):
            problems.append(f"SubnetLen must be an integer, got {subnet_len!r}")
        elif subnet_len > 30:
            problems.append(f"SubnetLen {subnet_len} is longer than 30")
        elif network is not None and subnet_len < network.prefixlen + 2:
            problems.append(
                f"SubnetLen {subnet_len} leaves fewer than 4 subnets in {network} "
                f"(use at least /{network.prefixlen + 2})"
            )
    elif network is not None and network.prefixlen > 28:
        problems.append(f"Network {network} is too small for flannel's default SubnetLen")
    backend_key = _key(config, "Backend")
    backend = config.get(backend_key) if backend_key else None
    if not isinstance(backend, Mapping):
        problems.append(
            "Backend must be a mapping with a Type (without it flannel silently uses udp)"
        )
    else:
        type_key = _key(backend, "Type")
        if type_key is None or not isinstance(backend[type_key], str) or not backend[type_key]:
            problems.append("Backend.Type is missing (flanneld refuses a Backend without Type)")
    return problems


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def etcd_sans(names: Iterable[Any]) -> list[str]:
    out: list[str] = []
    for raw in names:
        if raw is None:
            continue
        name = str(raw).strip()
        if not name:
            continue
        if re.match(r"^(IP|DNS|email|URI):", name, flags=re.IGNORECASE):
            kind, _, value = name.partition(":")
            kind = kind.upper() if kind.upper() in ("IP", "DNS", "URI") else kind
            san = f"{kind}:{value}"
        elif _is_ip(name):
            san = f"IP:{ipaddress.ip_address(name)}"
        else:
            san = f"DNS:{name}"
        if san not in out:
            out.append(san)
    return out


def _members(member_list: Any) -> list[Mapping[str, Any]]:
    if isinstance(member_list, Mapping):
        member_list = member_list.get("members") or []
    return [m for m in member_list or [] if isinstance(m, Mapping)]


def etcd_member_by_peer_url(member_list: Any, peer_url: str) -> Mapping[str, Any] | None:
    for member in _members(member_list):
        if peer_url in (member.get("peerURLs") or []):
            return member
    return None


def etcd_initial_cluster(member_list: Any, name: str, peer_url: str) -> str:
    entries: list[str] = []
    found = False
    for member in _members(member_list):
        urls = list(member.get("peerURLs") or [])
        member_name = member.get("name") or ""
        if peer_url in urls:
            found = True
            member_name = name
        if not member_name:
            raise ValueError(
                f"member {member.get('ID')} with peer URLs {urls} has no name and is not "
                f"{name}: another member joins unstarted; start it or remove it first"
            )
        entries.extend(f"{member_name}={url}" for url in urls)
    if not found:
        entries.append(f"{name}={peer_url}")
    return ",".join(entries)


def etcd_version(output: Any) -> str:
    match = re.search(r"etcd Version:\s*v?([0-9]+\.[0-9]+\.[0-9]+)", str(output or ""))
    return match.group(1) if match else ""


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "etcd_json_or_none": etcd_json_or_none,
            "etcd_flannel_config_problems": etcd_flannel_config_problems,
            "etcd_sans": etcd_sans,
            "etcd_member_by_peer_url": etcd_member_by_peer_url,
            "etcd_initial_cluster": etcd_initial_cluster,
            "etcd_version": etcd_version,
        }
