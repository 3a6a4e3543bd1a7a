"""Controller-side rules of etcd's version changes and membership changes.

``installed | etcd_upgrade_problems(target)``
    Why moving the members to etcd ``target`` is refused, as a list of messages (empty
    when it is allowed). ``installed`` maps each member to the version its etcd binary
    reports ("" where etcd is not installed yet: a new member simply gets ``target``).
    The rules are etcd's own (its upgrade guides): no downgrade, one minor version at a
    time, no change of the major version, and for the hops the guides name, every
    member on a minimum patch release first (3.5 -> 3.6 needs 3.5.26 or later).
``members | etcd_removal_problems(name, healthy)``
    Why removing member ``name`` from the cluster is refused: it must be a member, and
    the members that stay must still make a quorum of the smaller cluster with the
    healthy ones alone. ``members`` is the member names, ``healthy`` those that answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# Minimum release of the old minor before the next minor may start, per etcd's
# upgrade guides ("upgrade to 3.5.26 or later before upgrading to 3.6").
MIN_PATCH_BEFORE = {(3, 6): (3, 5, 26)}


def _parse(version: Any) -> tuple[int, int, int] | None:
    parts = str(version or "").strip().lstrip("v").split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def _text(version: tuple[int, ...]) -> str:
    return ".".join(str(p) for p in version)


def etcd_upgrade_problems(installed: Mapping[str, Any], target: Any) -> list[str]:
    want = _parse(target)
    if want is None:
        return [f"etcd_version: {target!r} is not a release number like 3.6.16"]
    problems = []
    running = {}
    for name, version in sorted((installed or {}).items()):
        if not str(version or "").strip():
            continue
        have = _parse(version)
        if have is None:
            problems.append(f"{name}: cannot read the installed etcd version {version!r}")
            continue
        running[name] = have
    for name, have in running.items():
        if want < have:
            problems.append(
                f"{name} runs etcd {_text(have)} and etcd_version is {_text(want)}: etcd does "
                "not support downgrades (restore a snapshot taken before the upgrade instead)"
            )
        elif want[0] != have[0]:
            problems.append(
                f"{name} runs etcd {_text(have)}: etcd_version {_text(want)} is another major "
                "version, which this role does not upgrade to"
            )
        elif want[1] > have[1] + 1:
            step = f"{have[0]}.{have[1] + 1}"
            problems.append(
                f"{name} runs etcd {_text(have)} and etcd_version is {_text(want)}: etcd "
                f"upgrades one minor version at a time; upgrade every member to {step} first"
            )
    floor = MIN_PATCH_BEFORE.get(want[:2])
    if floor and not problems:
        low = [
            f"{name} ({_text(have)})"
            for name, have in running.items()
            if have[:2] == floor[:2] and have < floor
        ]
        if low:
            problems.append(
                f"etcd {want[0]}.{want[1]} needs every member on {_text(floor)} or later first; "
                f"these are older: {', '.join(low)}. Upgrade them to the newest "
                f"{floor[0]}.{floor[1]}.x, then to {_text(want)}"
            )
    return problems


def etcd_removal_problems(members: Iterable[Any], name: Any, healthy: Iterable[Any]) -> list[str]:
    members = [str(m) for m in members or []]
    healthy = {str(h) for h in healthy or []}
    name = str(name)
    if name not in members:
        return [f"{name} is not a member of the etcd cluster (members: {', '.join(members)})"]
    if len(members) == 1:
        return [f"{name} is the only etcd member: removing it would delete the cluster"]
    stay = [m for m in members if m != name]
    quorum = len(stay) // 2 + 1
    up = [m for m in stay if m in healthy]
    if len(up) < quorum:
        down = [m for m in stay if m not in healthy]
        return [
            f"removing {name} leaves {len(stay)} members, which need {quorum} healthy for a "
            f"quorum, but only {len(up)} answer ({', '.join(up) or 'none'}; down: "
            f"{', '.join(down)}): bring them back first"
        ]
    return []


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "etcd_upgrade_problems": etcd_upgrade_problems,
            "etcd_removal_problems": etcd_removal_problems,
        }
