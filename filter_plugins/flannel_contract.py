"""Rules of the contract the roles share (roles/flannel_common), written once.

The etcd role's peer and client URLs, the flannel role's default etcd endpoints and
the preflight's duplicate-address check all need each etcd member's address. The
rule is here, and nowhere else: the member's etcd_address, else its ansible_host,
else its inventory name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def member_address(name: str, hostvars: Mapping[str, Any]) -> str:
    """The address an etcd member is reached on: etcd_address, ansible_host, its name."""
    for key in ("etcd_address", "ansible_host"):
        value = hostvars.get(key)
        if value not in (None, ""):
            return str(value)
    return name


def flannel_member_addresses(hostvars: Mapping[str, Any], members: Iterable[str]) -> dict[str, str]:
    """{member: address} for `members`, in their order, from the inventory's hostvars."""
    return {str(name): member_address(str(name), hostvars[name]) for name in members}


class FilterModule:
    """Shared-contract filters."""

    def filters(self) -> dict[str, Any]:
        return {"flannel_member_addresses": flannel_member_addresses}
