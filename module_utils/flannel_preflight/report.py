"""The preflight's result as lines of text for a person to read."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def plan_report(result: Mapping[str, Any], errors: bool = True) -> list[str]:
    """The plan, the warnings and (unless ``errors`` is false) the errors as lines."""
    plan = result.get("plan") or {}
    lines: list[str] = []

    def value(key: str) -> str:
        got = plan.get(key)
        return "?" if got is None else str(got)

    len_from = " (flannel's default)" if plan.get("subnet_len_from") == "default" else ""
    lines.append(
        f"Network:        {value('network')}, one /{value('subnet_len')} per node{len_from}"
    )
    lines.append(f"Subnet range:   {value('subnet_min')} .. {value('subnet_max')}")
    fits = "fits" if plan.get("fits") else "DOES NOT FIT"
    lines.append(
        f"Subnets:        {value('subnets_available')} available, "
        f"{value('subnets_needed')} needed (group nodes): {fits}"
    )
    lines.append(
        f"Backend:        {value('backend')}, overlay MTU {value('mtu')} on a "
        f"{value('underlay_mtu')}-byte underlay"
    )
    by_backend = plan.get("mtu_by_backend") or {}
    if by_backend:
        listed = ", ".join(f"{name} {mtu}" for name, mtu in by_backend.items())
        lines.append(f"MTU by backend: {listed} (underlay {value('underlay_mtu')})")
    ipv6 = plan.get("ipv6")
    if ipv6:
        lines.append(
            f"IPv6:           {ipv6.get('network')}, one /{ipv6.get('subnet_len')} per node, "
            f"{ipv6.get('subnets_available')} available"
        )
    members = plan.get("etcd_members") or []
    lines.append(
        f"etcd:           {len(members)} member(s) ({', '.join(members) or 'none'}); "
        f"config at {value('config_key')}"
    )
    lines.append(f"Nodes:          {', '.join(plan.get('nodes') or []) or 'none'}")
    for warning in result.get("warnings") or []:
        lines.append(f"WARNING: {warning}")
    for error in (result.get("errors") or []) if errors else []:
        lines.append(f"ERROR: {error}")
    return lines
