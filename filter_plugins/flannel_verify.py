"""The verdict of ``playbooks/verify.yml``: what the nodes run, not what was asked.

The play only gathers raw data (each node's subnet file, ``ip -j`` output for its
routes and docker0, flanneld's ``/healthz`` answer, the probe results, and one
``etcdctl get --prefix -w json`` of the flannel keys); every decision is made here.
``docs/verify.md`` lists each check with its message. The readers of the raw results
are in ``module_utils/flannel_verify_read.py``; this file holds the checks, the pairs,
the verdict and the filter entry points.

Filters:

``inspect_result | flannel_verify_probe_info``
    The probe container's address and PID from a registered ``docker inspect``.
``hostvars | flannel_verify_collect(hosts)``
    The only function that touches Ansible objects: what the verify play registered
    on each host, as plain dicts.
``collected | flannel_verify_report(...)``
    The report: nodes, ordered pairs, leases, checks, problems, the ping matrix and
    the verdict (PASS / PARTIAL / NOT VERIFIED / FAIL) with its one-line summary.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# The readers of the raw results live in module_utils/flannel_verify_read.py (with the
# subnet.env parser they share with the Docker options helper), imported as
# module_utils/flannel_preflight/__init__.py explains.
try:
    from ..module_utils import flannel_verify_read as _read
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
    import flannel_verify_read as _read  # type: ignore[no-redef]

_ikey, _ran, _stdout, _why = _read._ikey, _read._ran, _read._stdout, _read._why
config_backend, lease_backend = _read.config_backend, _read.lease_backend
lease_name = _read.lease_name
lease_net, parse_docker0, parse_routes = _read.lease_net, _read.parse_docker0, _read.parse_routes
parse_subnet_env, probe_info, read_etcd = _read.parse_subnet_env, _read.probe_info, _read.read_etcd
route_text = _read.route_text
engine_text, failed_probes = _read.engine_text, _read.failed_probes

DEFAULT_PREFIX = "/coreos.com/network"
# The verify play registers its per-node results as flannel_verify_<name>_raw.
REGISTERED = ("subnet", "routes", "docker0", "healthz", "image", "start", "pairs")
UDP_DEVICE = "flannel0"

Result = Mapping[str, Any]
Node = dict[str, Any]


# --- checks -------------------------------------------------------------------------


class Checks:
    """Every check with its outcome; a failed one carries the message a person reads."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, host: str, check: str, ok: bool, seen: Any, message: str = "") -> bool:
        item = {"host": host, "check": check, "ok": bool(ok), "seen": seen}
        if not ok:
            item["message"] = message if host == "-" else f"{host}: {message}"
        self.items.append(item)
        return bool(ok)

    def problems(self) -> list[str]:
        return [c["message"] for c in self.items if not c["ok"]]


def check_node(checks: Checks, node: Node, raw: Mapping[str, Any], ctx: Mapping) -> None:
    """A node of the play: its subnet file, its lease, docker0 and flanneld's health."""
    host, subnet, leases = node["host"], raw.get("subnet") or {}, ctx["leases"]
    if not _ran(subnet) or subnet.get("failed") or "content" not in subnet:
        msg = f"cannot read {ctx['subnet_file']} ({_why(subnet)}): is flanneld running?"
        checks.add(host, "subnet file readable", False, _why(subnet), msg)
        return
    try:
        env = parse_subnet_env(base64.b64decode(subnet["content"]).decode(), ctx["subnet_file"])
    except ValueError as exc:
        checks.add(host, "subnet file parses", False, str(exc), f"{exc}")
        return
    if not checks.add(
        host, "FLANNEL_SUBNET set", "FLANNEL_SUBNET" in env, env, "no FLANNEL_SUBNET"
    ):
        return
    node.update(subnet=env["FLANNEL_SUBNET"], network=env.get("FLANNEL_NETWORK", ""))
    node["mtu"] = int(env["FLANNEL_MTU"]) if env.get("FLANNEL_MTU", "").isdigit() else None
    name = node["lease_name"] = lease_name(node["subnet"])
    msg = f"no lease in etcd for its subnet {name} (FLANNEL_SUBNET={node['subnet']})"
    if checks.add(host, "lease in etcd for its subnet", name in leases, name, msg):
        lease = leases[name]
        node.update(lease=lease, backend=lease_backend(lease), public_ip=lease.get("PublicIP"))
    addr, mtu = parse_docker0(_stdout(raw.get("docker0")))
    node.update(docker0=addr, docker0_mtu=mtu)
    msg = f"docker0 has {addr or 'no IPv4 address'}, FLANNEL_SUBNET is {node['subnet']}"
    checks.add(
        host, "docker0 has the first address of FLANNEL_SUBNET", addr == node["subnet"], addr, msg
    )
    msg = f"docker0 MTU {mtu} != FLANNEL_MTU {node['mtu']}"
    checks.add(host, "docker0 MTU equals FLANNEL_MTU", mtu == node["mtu"], mtu, msg)
    if ctx["healthz"] is None:
        node["healthz"] = "off"
        return
    answer = raw.get("healthz") or {}
    status = node["healthz"] = int(answer.get("status", -1)) if _ran(answer) else -1
    where = f"flanneld /healthz on {ctx['healthz']}"
    msg = f"{where} answered {status}" if status > 0 else f"{where} did not answer ({_why(answer)})"
    checks.add(host, "flanneld /healthz answers 200", status == 200, status, msg)


def _route_ok(backend: str, route: Mapping | None, peer: Mapping, vni: int, direct: bool) -> bool:
    if route is None:
        return False
    gateway, dev = route.get("gateway"), str(route.get("dev", ""))
    via_public = gateway == peer["lease"].get("PublicIP") and not dev.startswith("flannel")
    if backend == "host-gw":
        return via_public
    vxlan = gateway == peer["gateway"] and dev == f"flannel.{vni}"
    return (vxlan and "onlink" in route.get("flags", [])) or (direct and via_public)


def check_routes(checks: Checks, node: Node, routes: Mapping, peers: Sequence, config: Any) -> None:
    """The node's route to every other node's subnet, as its own backend would set it."""
    host, backend, bad = node["host"], node["backend"], 0
    vni = int(((node["lease"] or {}).get("BackendData") or {}).get("VNI") or 1)
    direct = bool(_ikey(_ikey(config, "Backend"), "DirectRouting"))
    if backend == "udp":
        net = node["network"] or str(_ikey(config, "Network"))
        route = routes.get(net)
        ok = route is not None and route.get("dev") == UDP_DEVICE
        msg = f"udp needs '{net} dev {UDP_DEVICE}', found: {route_text(route)}"
        bad += not checks.add(host, "udp: Network routed into flannel0", ok, route_text(route), msg)
    elif backend not in ("vxlan", "host-gw"):
        node["routes"] = f"not checked ({backend})"
        return
    for peer in peers:
        route, what = routes.get(peer["net"]), f"route to {peer['host']}'s subnet {peer['net']}"
        if backend == "udp":
            msg = f"{what} is '{route_text(route)}': it bypasses {UDP_DEVICE} (udp backend)"
            bad += not checks.add(
                host, f"udp: no per-subnet {what}", route is None, route_text(route), msg
            )
            continue
        if backend == "vxlan":
            want = f"{peer['net']} via {peer['gateway']} dev flannel.{vni} onlink"
        else:
            want = f"{peer['net']} via {peer['lease'].get('PublicIP')}"
        ok = _route_ok(backend, route, peer, vni, direct)
        msg = f"{what} is '{route_text(route)}', {backend} needs '{want}'"
        bad += not checks.add(host, f"{backend}: {what}", ok, route_text(route), msg)
    node["routes"] = f"{bad} bad" if bad else "ok"


def check_cluster(checks: Checks, nodes: Sequence[Node], config: Any, ctx: Mapping) -> str:
    """Backends and MTUs across the nodes, against the config in etcd; the config's backend."""
    wanted = config_backend(config) if isinstance(config, Mapping) else "unknown"
    msg = f"no readable network config at {ctx['prefix']}/config in etcd"
    have_config = checks.add(
        "-", "network config in etcd", isinstance(config, Mapping), wanted, msg
    )
    running = {n["host"]: n["backend"] for n in nodes if n["lease"] is not None}
    kinds = sorted(set(running.values()))
    listing = ", ".join(f"{h}={b}" for h, b in running.items())
    checks.add(
        "-",
        "one backend on every node",
        len(kinds) <= 1,
        listing,
        f"mixed backends among the nodes: {listing}",
    )
    if have_config:
        runs = ", ".join(
            f"{b} ({', '.join(h for h, x in running.items() if x == b)})"
            for b in kinds
            if b != wanted
        )
        runs = kinds[0] if len(kinds) == 1 else runs
        msg = f"config says {wanted}, nodes run {runs} (flanneld picks the backend when it starts)"
        checks.add("-", "nodes run the configured backend", set(kinds) <= {wanted}, kinds, msg)
    mtus = {n["host"]: n["mtu"] for n in nodes if n["subnet"] and n["status"] == "ok"}
    listing = ", ".join(f"{h}={m}" for h, m in mtus.items())
    msg = f"FLANNEL_MTU differs between nodes: {listing}"
    checks.add("-", "one FLANNEL_MTU on every node", len(set(mtus.values())) <= 1, listing, msg)
    for node in nodes:
        if node["status"] == "ok" and node["public_ip"]:
            same = sorted(
                k for k, v in ctx["leases"].items() if v.get("PublicIP") == node["public_ip"]
            )
            msg = (
                f"{len(same)} leases in etcd carry its PublicIP {node['public_ip']}: "
                + ", ".join(same)
            )
            checks.add(
                node["host"], "one lease in etcd with its PublicIP", len(same) == 1, same, msg
            )
    return wanted


# A pair's measurements as overlay_check returns them (the published ones null when the
# published port was not probed).
TIMES = ("rtt_ms", "tcp_connect_ms", "published_host_connect_ms", "published_container_connect_ms")
PUBLISHED_OK = ("published_host_ok", "published_container_ok")


def pair_results(checks: Checks, probing: Sequence[str], raw: Mapping[str, Any]) -> list[dict]:
    """Every ordered pair among the probing nodes; a pair without a result failed. A failed
    pair's message names the probes that failed and the Docker engine of both ends."""
    pairs = []
    for src in probing:
        result = raw[src].get("pairs")
        got = {str(r.get("target")): r for r in _read.probe_pairs(result) or []}
        for dst in (d for d in probing if d != src):
            why = (raw[src].get("probe") or {}).get("error") or (raw[dst].get("probe") or {}).get(
                "error"
            )
            r = got.get(dst) or {"error": f"not probed: {why or _why(result)}"}
            pair = {"from": src, "to": dst, "ip": r.get("ip", ""), "host_ip": r.get("host_ip", "")}
            pair.update({k: bool(r.get(k)) for k in ("ping_ok", "tcp_ok")})
            pair.update({k: None if r.get(k) is None else bool(r[k]) for k in PUBLISHED_OK})
            pair.update({k: r.get(k) for k in TIMES}, error=r.get("error", ""))
            pair["failed"] = failed_probes(pair)
            pair["ok"] = not pair["failed"]
            pairs.append(pair)
            ends = ", ".join(f"{h}: {engine_text(raw[h].get('engine'))}" for h in (src, dst))
            error = " ".join(pair["error"].split())[-500:]
            msg = f"-> {dst}: {' and '.join(pair['failed'])} failed ({error}) [{ends}]"
            checks.add(src, f"reaches {dst} over the overlay", pair["ok"], pair["error"], msg)
    return pairs


def matrix(hosts: Sequence[str], pairs: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Cell texts, from row to column."""
    by = {(p["from"], p["to"]): p for p in pairs}

    def cell(src: str, dst: str) -> str:
        p = by.get((src, dst))
        if src == dst or p is None:
            return "-" if src == dst else "n/a"
        if p["ok"]:
            return "ok" if p["rtt_ms"] is None else f"ok {p['rtt_ms']:.2f}"
        return "FAIL " + "+".join(failed_probes(p, labels=True))

    return [[cell(src, dst) for dst in hosts] for src in hosts]


def _node(host: str, status: str) -> Node:
    return dict.fromkeys(("public_ip", "subnet", "network", "probe_ip", "lease_name"), "") | {
        "host": host, "status": status, "backend": "unknown", "routes": "-", "lease": None,
        "mtu": None, "docker0": None, "docker0_mtu": None, "healthz": None, "engine": None,
    }  # fmt: skip


def _engine(engine: Any) -> dict[str, str]:
    """The node's Docker engine as verify_node read it: {version, firewall_backend}."""
    engine = engine if isinstance(engine, Mapping) and not engine.get("skipped") else {}
    return {k: str(engine.get(k) or "unknown") for k in ("version", "firewall_backend")}


def _verdict(
    problems: list, pairs: list, nodes: Sequence[str], probing: list, no_image: list, outside: list
) -> tuple[str, str]:
    n, passed = len(nodes), sum(p["ok"] for p in pairs)
    not_checked = f"not checked: {', '.join(outside)} (outside --limit)"
    if problems:
        verdict = f"FAIL: {passed}/{n * (n - 1)} ordered pairs passed; {len(problems)} problem(s)"
    elif no_image:
        verdict = (
            f"NOT VERIFIED: {passed}/{len(pairs)} pairs probed; not verified in check mode:"
            f" no probe image yet on {', '.join(no_image)}"
        )
    elif outside:
        return "PARTIAL", (
            f"PARTIAL: {passed}/{len(pairs)} pairs among the {len(probing)} nodes in this run;"
            f" {not_checked}; run playbooks/verify.yml without --limit"
        )
    else:
        return "PASS", f"PASS: {passed}/{len(pairs)} ordered pairs among all {n} nodes"
    return verdict.split(":", 1)[0], verdict + (f"; {not_checked}" if outside else "")


def flannel_verify_report(
    collected: Mapping[str, Mapping[str, Any]],
    inventory_nodes: Sequence[str],
    play_hosts_all: Sequence[str],
    play_hosts: Sequence[str],
    etcd_reads: Sequence[Result] = (),
    prefix: str = DEFAULT_PREFIX,
    healthz: str | None = "127.0.0.1:8286",
    check_mode: bool = False,
    subnet_file: str = "the subnet file",
) -> dict[str, Any]:
    """The report and its verdict. ``healthz`` is ``ip:port``, or None to skip that check."""
    etcd = read_etcd(etcd_reads, prefix)
    leases, config, checks = etcd["leases"], etcd["config"], Checks()
    ctx = {"leases": leases, "prefix": prefix, "healthz": healthz, "subnet_file": subnet_file}
    tried = "; ".join(etcd["tried"]) or "none tried"
    msg = f"could not read {prefix} in etcd through any member: {tried}"
    checks.add("-", "etcd readable through a member", etcd["ok"], etcd["via"], msg)
    raw = {h: collected.get(h) or {} for h in inventory_nodes}
    outside = [h for h in inventory_nodes if h not in play_hosts_all]
    reporting = [h for h in inventory_nodes if h in play_hosts]
    nodes = {}
    for host in inventory_nodes:
        status = (
            "outside-limit" if host in outside else "ok" if host in reporting else "not-reported"
        )
        nodes[host] = _node(host, status)
        if status == "ok":
            nodes[host]["engine"] = _engine(raw[host].get("engine"))
            check_node(checks, nodes[host], raw[host], ctx)
        elif status == "not-reported":
            msg = "did not report (unreachable, or failed earlier in the run)"
            checks.add(host, "node reported", False, status, msg)
    for host in (h for h in inventory_nodes if h not in reporting):
        # Not in the play: find its lease by the address the inventory gives it.
        address = raw[host].get("address")
        for name, lease in leases.items():
            if address and lease.get("PublicIP") == address:
                first = next(ipaddress.ip_network(lease_net(name)).hosts())
                subnet = f"{first}/{name.rsplit('-', 1)[1]}"
                nodes[host].update(lease=lease, lease_name=name, public_ip=address, subnet=subnet)
                nodes[host]["backend"] = lease_backend(lease)
    backend = check_cluster(checks, list(nodes.values()), config, ctx)
    known = [n for n in nodes.values() if n["lease"] is not None]
    for host in (h for h in reporting if nodes[h]["lease"] is not None):
        result = raw[host].get("routes")
        try:
            routes = parse_routes(_stdout(result)) if _stdout(result) is not None else None
        except (ValueError, KeyError, TypeError):
            routes = None
        msg = f"cannot read its routes ({_why(result)})"
        if checks.add(host, "routes readable", routes is not None, _why(result), msg):
            peers = [
                {"host": p["host"], "net": lease_net(p["lease_name"]), "lease": p["lease"],
                 "gateway": p["lease_name"].split("-")[0]}
                for p in known if p["host"] != host
            ]  # fmt: skip
            check_routes(checks, nodes[host], routes, peers, config)
    # In check mode a node without the probe image yet is not probed.
    no_image = [
        h for h in reporting
        if check_mode and not _ran(raw[h].get("start")) and (raw[h].get("image") or {}).get("rc", 1)
    ]  # fmt: skip
    probing = [h for h in reporting if h not in no_image]
    for host in probing:
        nodes[host]["probe_ip"] = (raw[host].get("probe") or {}).get("ip", "")
    pairs = pair_results(checks, probing, raw)
    problems = checks.problems()
    verdict, summary = _verdict(problems, pairs, inventory_nodes, probing, no_image, outside)
    return {
        "ok": not problems, "verdict": verdict, "summary": summary, "problems": problems,
        "config": {"key": f"{prefix}/config", "backend": backend, "value": config},
        "etcd": {"read_via": etcd["via"], "failed_reads": etcd["tried"]},
        "nodes": list(nodes.values()), "pairs": pairs, "leases": leases,
        "host_checks": checks.items, "not_checked": outside, "check_mode_no_image": no_image,
        "matrix": {"hosts": list(inventory_nodes), "rows": matrix(inventory_nodes, pairs)},
    }  # fmt: skip


def flannel_verify_collect(hostvars: Mapping[str, Any], hosts: Sequence[str]) -> dict:
    """Plain dicts of what the verify play registered on each host, and its address."""
    out = {}
    for host in hosts:
        hv = hostvars[host]
        raw = {name: hv.get(f"flannel_verify_{name}_raw") for name in REGISTERED}
        raw["probe"] = hv.get("flannel_verify_probe")
        raw["engine"] = hv.get("flannel_verify_engine")
        # The address flanneld advertises, when the inventory says which one it is.
        iface = hv.get("flannel_iface") or hv.get("flannel_iface_regex")
        raw["address"] = hv.get("flannel_public_ip") or (
            None if iface else hv.get("ansible_host", host)
        )
        out[host] = json.loads(json.dumps(raw, default=str))
    return out


class FilterModule:
    """Ansible filters for playbooks/verify.yml."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "flannel_verify_probe_info": probe_info,
            "flannel_verify_collect": flannel_verify_collect,
            "flannel_verify_report": flannel_verify_report,
        }
