"""Controller-side filters of the etcd role: the parts of its logic worth unit tests.

``text | etcd_json_or_none``
    Parse a stored JSON value; None when it is empty or not JSON (so a broken value
    simply compares unequal and gets rewritten).
``config | etcd_flannel_config_problems``
    What flanneld would reject (or hang on: it never exits on a bad config) in a
    flannel network config, as a list of messages; empty when it is usable. These are
    the errors of the preflight's rules on the config alone, with the same messages
    (module_utils/flannel_preflight).
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
``has_data | etcd_member_mode(play_members, report)``
    How a member starts: ``member`` (it has data), ``join`` (no data, and a member of
    the play has data or the cluster answers) or ``new`` (bootstrap with the others).
"""

from __future__ import annotations

import ipaddress
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

# The shared code, from the collection or else from the repository; the reasons are in
# module_utils/flannel_preflight/__init__.py.
try:
    from ..module_utils import flannel_preflight as preflight
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "module_utils"))
    import flannel_preflight as preflight


def etcd_json_or_none(text: Any) -> Any:
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def etcd_flannel_config_problems(config: Any) -> list[str]:
    """The preflight's own rules on the config alone (``rules.config_problems``)."""
    return preflight.rules.config_problems(config)


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


def etcd_member_mode(
    has_data: Any, play_members: Mapping[str, Mapping[str, Any]], report: Mapping[str, Any]
) -> str:
    """``member``, ``join`` or ``new``: see the module docstring.

    ``play_members`` is {name: {has_data, active}} for the members in the play;
    ``report`` is etcd_probe_report's result (its ``reachable`` members, less those of
    another cluster in ``foreign``, are the cluster that answers).
    """
    if bool(has_data):
        return "member"
    peers_with_data = any(bool(m.get("has_data")) for m in play_members.values())
    foreign = set((report.get("foreign") or {}).keys())
    answers = [name for name in report.get("reachable") or [] if name not in foreign]
    return "join" if peers_with_data or answers else "new"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "etcd_json_or_none": etcd_json_or_none,
            "etcd_flannel_config_problems": etcd_flannel_config_problems,
            "etcd_sans": etcd_sans,
            "etcd_member_by_peer_url": etcd_member_by_peer_url,
            "etcd_initial_cluster": etcd_initial_cluster,
            "etcd_version": etcd_version,
            "etcd_member_mode": etcd_member_mode,
        }
