"""Filters of the etcd role that judge the cluster from etcdctl output, and plan etcd auth.

The role probes every member's client URL on its own, all at once (``etcdctl
--endpoints=<member> endpoint status -w json`` per member and ``endpoint health
-w json`` of all members, short timeouts), and these filters turn that output into
decisions, so the decisions are unit tested and the playbook only runs commands
and asserts.

``probe_result | etcd_probe_report(members)``
    ``probe_result`` is the registered result of the probe task: its ``stdout``
    holds the ``endpoint status`` JSON arrays (one line per member), a line
    ``@@health``, then the ``endpoint health`` JSON; its ``stderr`` holds
    etcdctl's complaints (used to name the cause, e.g. "connection refused").
    ``members`` maps member names to client URLs. Returns a report: who answered,
    who is healthy, the cluster ID, members with another cluster ID, the leader,
    healthy endpoints (leader first) and a one-line summary "N of M members
    reachable: a, b".
``report | etcd_cluster_verdict(hosts, member_list=None, peer_urls=None)``
    The check before the role writes anything. ``hosts`` maps the play's member
    names to ``{has_data, active}``. Returns ``{ok, retry, bootstrap, problems,
    msg}``: quorum lost (and not restored by members this run starts), members with
    another cluster ID, members that lost their data although the cluster knows them
    as started (from ``member_list``, ``etcdctl member list -w json``), members that
    are down and not in this run.
``report | etcd_gate_verdict(expected)``
    The health gate: ok when every member in ``expected`` is healthy in one cluster;
    ``fatal`` when waiting cannot help (a member of another cluster).
``text | etcd_auth_state``
    The sections printed by the role's auth reader (``@@auth``, ``@@user <name>``,
    ``@@role <name>``, each followed by etcdctl's JSON) as ``{enabled, users,
    roles}``: users map to their roles, roles to their permissions.
``state | etcd_auth_plan(want)``
    The etcdctl commands (argument lists) that bring the auth state to ``want``, in
    a safe order, ``auth enable`` last; empty when nothing is to do.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

HEALTH_MARK = "@@health"

# etcd's permission types, as `role get -w json` prints them.
PERM_NAMES = {0: "read", 1: "write", 2: "readwrite"}


def _json_list(text: str) -> list[Any]:
    """Every entry of the JSON arrays in ``text`` (one etcdctl run per line)."""
    text = (text or "").strip()
    try:
        value = json.loads(text) if text else []
    except ValueError:
        value = None
    if isinstance(value, list):
        return value
    out: list[Any] = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, list):
            out.extend(value)
    return out


def _hostport(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{host}:{parts.port}" if parts.port else host


def _cause(stderr: str, url: str) -> str:
    """The reason etcdctl gives for an endpoint, in a few words."""
    target = re.escape(_hostport(url))
    patterns = (
        (rf"dial tcp {target}: connect: connection refused", "connection refused"),
        (rf"dial tcp {target}: connect: no route to host", "no route to host"),
        (rf"dial tcp {target}: i/o timeout", "no answer (i/o timeout)"),
        (rf"dial tcp {target}: connect: network is unreachable", "network unreachable"),
    )
    for pattern, cause in patterns:
        if re.search(pattern, stderr or ""):
            return cause
    lines = [line for line in (stderr or "").splitlines() if _hostport(url) in line]
    for line in lines:
        if "x509" in line or "tls:" in line or "certificate" in line:
            match = re.search(r"(x509: [^\"\\]+|tls: [^\"\\]+)", line)
            return "TLS refused: " + (match.group(1) if match else "certificate problem")
    return ""


def _hex(value: Any) -> str:
    try:
        return f"{int(value):x}"
    except (TypeError, ValueError):
        return ""


def etcd_probe_report(probe: Any, members: Mapping[str, str]) -> dict[str, Any]:
    probe = probe if isinstance(probe, Mapping) else {"stdout": str(probe or "")}
    stdout = str(probe.get("stdout") or "")
    stderr = str(probe.get("stderr") or "")
    status_text, _, health_text = stdout.partition(HEALTH_MARK)
    statuses = {
        str(entry.get("Endpoint")): entry.get("Status") or {}
        for entry in _json_list(status_text)
        if isinstance(entry, Mapping)
    }
    healths = {
        str(entry.get("endpoint")): entry
        for entry in _json_list(health_text)
        if isinstance(entry, Mapping)
    }
    entries: dict[str, dict[str, Any]] = {}
    for name, url in members.items():
        status = statuses.get(url)
        health = healths.get(url) or {}
        header = (status or {}).get("header") or {}
        errors = [str(e) for e in (status or {}).get("errors") or []]
        reason = ""
        if status is None:
            reason = _cause(stderr, url) or "no answer within the timeout"
        elif not health.get("health"):
            reason = "; ".join(errors) or str(health.get("error") or "") or "not healthy"
            if reason == "context deadline exceeded":
                reason = "answers, but cannot commit (no quorum behind it)"
        entries[name] = {
            "endpoint": url,
            "reachable": status is not None,
            "healthy": status is not None and bool(health.get("health")),
            "cluster_id": header.get("cluster_id"),
            "member_id": header.get("member_id"),
            "leader": (status or {}).get("leader") or 0,
            "reason": reason,
        }
    reachable = [n for n, e in entries.items() if e["reachable"]]
    ids = Counter(entries[n]["cluster_id"] for n in reachable)
    cluster_id = None
    if ids:
        # The cluster is the ID most members answer with; on a tie the one with a
        # healthy member (a quorum) wins.
        best = max(ids.values())
        tied = [cid for cid, count in ids.items() if count == best]
        healthy_ids = {entries[n]["cluster_id"] for n in reachable if entries[n]["healthy"]}
        cluster_id = next((cid for cid in tied if cid in healthy_ids), tied[0])
    foreign = {
        n: _hex(entries[n]["cluster_id"])
        for n in reachable
        if entries[n]["cluster_id"] != cluster_id
    }
    by_member_id = {entries[n]["member_id"]: n for n in reachable if n not in foreign}
    leaders = {entries[n]["leader"] for n in reachable if n not in foreign and entries[n]["leader"]}
    leader = next((by_member_id[i] for i in leaders if i in by_member_id), "")
    healthy = [n for n in reachable if entries[n]["healthy"] and n not in foreign]
    ordered = sorted(healthy, key=lambda n: n != leader)
    unreachable = {n: e["reason"] for n, e in entries.items() if not e["reachable"]}
    unhealthy = {n: e["reason"] for n, e in entries.items() if e["reachable"] and not e["healthy"]}
    summary = (
        f"{len(reachable)} of {len(entries)} members reachable: {', '.join(reachable) or 'none'}"
    )
    details = [f"{n}: {r}" for n, r in {**unreachable, **unhealthy}.items()]
    if details:
        summary += f" ({'; '.join(details)})"
    return {
        "members": list(entries),
        "entries": entries,
        "reachable": reachable,
        "healthy": healthy,
        "unreachable": unreachable,
        "unhealthy": unhealthy,
        "cluster_id": _hex(cluster_id) if cluster_id is not None else "",
        "foreign": foreign,
        "leader": leader,
        "healthy_endpoints": [entries[n]["endpoint"] for n in ordered],
        "summary": summary,
    }


def _listed_members(member_list: Any) -> list[Mapping[str, Any]]:
    if isinstance(member_list, str):
        try:
            member_list = json.loads(member_list)
        except ValueError:
            member_list = None
    if isinstance(member_list, Mapping):
        member_list = member_list.get("members") or []
    return [m for m in member_list or [] if isinstance(m, Mapping)]


def _foreign_problems(report: Mapping[str, Any], only: Any = None) -> list[str]:
    return [
        f"{name} answers as another cluster (ID {cid}, this cluster's is "
        f"{report.get('cluster_id')}): its data dir is not this cluster's (a restored or "
        f"reused host, or a member that bootstrapped alone). Stop etcd on {name}, move its "
        "data dir away, remove it from the cluster if `etcdctl member list` still shows it "
        "(etcdctl member remove <id>), then run the role again; it joins as a new member."
        for name, cid in (report.get("foreign") or {}).items()
        if only is None or name in only
    ]


def etcd_cluster_verdict(
    report: Mapping[str, Any],
    hosts: Mapping[str, Mapping[str, Any]],
    member_list: Any = None,
    peer_urls: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    members = list(report.get("members") or [])
    total = len(members)
    quorum = total // 2 + 1
    foreign = report.get("foreign") or {}
    reachable = [n for n in report.get("reachable") or [] if n not in foreign]
    healthy = list(report.get("healthy") or [])
    unreachable = report.get("unreachable") or {}
    summary = str(report.get("summary") or "")
    problems = _foreign_problems(report)
    retry = False
    any_data = any(bool(h.get("has_data")) for h in hosts.values())
    everyone_here = all(n in hosts for n in members)
    bootstrap = not reachable and not foreign and not any_data and everyone_here
    # Members this run will start: in the play, with data, and not answering.
    startable = [
        n
        for n, h in hosts.items()
        if h.get("has_data") and n not in reachable and n not in foreign and n in members
    ]
    if not reachable and not foreign and not any_data and not everyone_here:
        absent = [n for n in members if n not in hosts]
        problems.append(
            f"{summary}; {', '.join(absent)} not in this run, so the role cannot tell whether "
            "a cluster exists (join it) or not (bootstrap a new one). Start etcd on them, or "
            "run the role on every member of the group."
        )
        retry = True
    elif not bootstrap and not healthy:
        if len(reachable) + len(startable) < quorum:
            out_of_run = [n for n in members if n not in reachable and n not in hosts]
            advice = (
                f"Start etcd on {' or '.join(out_of_run)} (not in this run), or run the role on "
                "them too"
                if out_of_run
                else "Start etcd on the members that are down"
            )
            problems.append(
                f"{summary}; quorum lost: a write needs {quorum} of {total} members, and "
                + (
                    f"this run can start only {', '.join(startable)}. "
                    if startable
                    else "this run can start none of the others. "
                )
                + f"{advice}, then run again. The role writes nothing without a quorum."
            )
            retry = True
    elif healthy:
        listed = _listed_members(member_list)
        started_peers = {url for m in listed if m.get("name") for url in m.get("peerURLs") or []}
        for name, reason in unreachable.items():
            if name in hosts:
                continue
            known = peer_urls is None or not listed or (peer_urls.get(name) in started_peers)
            if known:
                problems.append(
                    f"{summary}; {name} is down ({reason}) and not in this run. The role gates "
                    f"every restart and join on the health of all members: start etcd on {name} "
                    "or run the role on it too (if it is gone for good: etcdctl member remove "
                    "<id>, and take it out of the group)."
                )
                retry = True
    for name, host in hosts.items():
        if host.get("has_data") or not peer_urls or name not in peer_urls:
            continue
        for member in _listed_members(member_list):
            if peer_urls[name] in (member.get("peerURLs") or []) and (
                member.get("name") or member.get("clientURLs")
            ):
                member_id = _hex(member.get("ID"))
                problems.append(
                    f"{name} has no data, but the cluster knows it as member {member_id} that "
                    "has run before. Joining again with empty data is unsafe. If its data is "
                    f"lost, remove it first: etcdctl member remove {member_id} (through a "
                    "healthy member), then run the role again."
                )
    if foreign:
        retry = False
    if bootstrap:
        summary = f"no member has data or answers: a new cluster of {', '.join(members)} starts"
    return {
        "ok": not problems,
        "retry": retry,
        "bootstrap": bootstrap,
        "problems": problems,
        "msg": " | ".join(problems) if problems else summary,
        "summary": summary,
    }


def etcd_gate_verdict(report: Mapping[str, Any], expected: Any) -> dict[str, Any]:
    expected = [str(n) for n in expected or []]
    healthy = set(report.get("healthy") or [])
    foreign = report.get("foreign") or {}
    waiting = [n for n in expected if n not in healthy]
    fatal = _foreign_problems(report, only=expected)
    reasons = {**(report.get("unreachable") or {}), **(report.get("unhealthy") or {})}
    if fatal:
        msg = " | ".join(fatal)
    elif waiting:
        msg = f"{report.get('summary', '')}; not healthy yet: " + ", ".join(
            f"{n} ({reasons.get(n) or 'not healthy'})" for n in waiting
        )
    else:
        msg = f"{len(expected)} of {len(expected)} members healthy: {', '.join(expected)}"
    ok = not waiting and not fatal and not (set(foreign) & set(expected))
    return {
        "ok": ok,
        "fatal": bool(fatal),
        "done": ok or bool(fatal),
        "waiting": waiting,
        "msg": msg,
    }


# --------------------------------------------------------------------------- auth


def _b64(value: Any) -> str:
    if not value:
        return ""
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def etcd_auth_state(text: Any) -> dict[str, Any]:
    sections: dict[str, str] = {}
    current = None
    for line in str(text or "").splitlines():
        if line.startswith("@@"):
            current = line[2:].strip()
            sections[current] = ""
        elif current is not None:
            sections[current] += line + "\n"

    def doc(name: str) -> Mapping[str, Any] | None:
        raw = sections.get(name, "").strip()
        for candidate in [raw, *raw.splitlines()]:
            try:
                value = json.loads(candidate)
            except ValueError:
                continue
            if isinstance(value, Mapping):
                return value
        return None

    auth = doc("auth")
    if auth is None:
        raise ValueError(f"could not read etcd's auth state: {sections.get('auth', '')!r}")
    users: dict[str, list[str]] = {}
    roles: dict[str, list[dict[str, str]]] = {}
    for name in sections:
        kind, _, item = name.partition(" ")
        if not item:
            continue
        value = doc(name) or {}
        if kind == "user":
            users[item] = sorted(str(r) for r in value.get("roles") or [])
        elif kind == "role":
            roles[item] = [
                {
                    "type": PERM_NAMES.get(int(p.get("permType") or 0), "read"),
                    "key": _b64(p.get("key")),
                    "range_end": _b64(p.get("range_end")),
                }
                for p in value.get("perm") or []
                if isinstance(p, Mapping)
            ]
    return {"enabled": bool(auth.get("enabled")), "users": users, "roles": roles}


def _prefix_end(prefix: str) -> str:
    raw = bytearray(prefix.encode("utf-8"))
    while raw and raw[-1] == 0xFF:
        raw.pop()
    if not raw:
        return "\x00"
    raw[-1] += 1
    return raw.decode("utf-8", errors="replace")


def etcd_auth_plan(state: Mapping[str, Any], want: Mapping[str, Any]) -> list[dict[str, Any]]:
    """want: {role, prefix, users: [names with the role], admins: [names with root],
    prune_prefix: users starting with it that hold the role and are not wanted go}."""
    users = dict(state.get("users") or {})
    roles = dict(state.get("roles") or {})
    role = str(want["role"])
    prefix = str(want["prefix"]).rstrip("/") + "/"
    wanted_perm = {"type": "readwrite", "key": prefix, "range_end": _prefix_end(prefix)}
    steps: list[dict[str, Any]] = []

    def step(*argv: str) -> None:
        steps.append({"argv": list(argv), "label": " ".join(argv)})

    if role not in roles:
        step("role", "add", role)
    perms = roles.get(role, [])
    for perm in perms:
        if perm != wanted_perm and perm.get("key"):
            if perm.get("range_end"):
                step("role", "revoke-permission", role, perm["key"], perm["range_end"])
            else:
                step("role", "revoke-permission", role, perm["key"])
    if wanted_perm not in perms:
        step("role", "grant-permission", role, "readwrite", prefix, "--prefix")
    for name, grant in (
        [("root", "root")]
        + [(a, "root") for a in want.get("admins") or []]
        + [(u, role) for u in want.get("users") or []]
    ):
        if name not in users:
            step("user", "add", name, "--no-password")
        if grant not in users.get(name, []):
            step("user", "grant-role", name, grant)
    prune = str(want.get("prune_prefix") or "")
    keep = set(want.get("users") or []) | set(want.get("admins") or []) | {"root"}
    if prune:
        for name, held in sorted(users.items()):
            if name.startswith(prune) and name not in keep and role in held:
                step("user", "delete", name)
    if not state.get("enabled"):
        step("auth", "enable")
    return steps


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "etcd_probe_report": etcd_probe_report,
            "etcd_cluster_verdict": etcd_cluster_verdict,
            "etcd_gate_verdict": etcd_gate_verdict,
            "etcd_auth_state": etcd_auth_state,
            "etcd_auth_plan": etcd_auth_plan,
        }
