#!/usr/bin/python
"""Ansible module overlay_check: probe other nodes' containers over the overlay, from a
container of this node."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: overlay_check
short_description: Probe other nodes' containers over the flannel overlay from a local container
description:
  - From the network namespace of a container on this node (entered with C(nsenter -t PID -n)),
    sends DF pings whose packets fill the overlay MTU to each target, and opens a TCP
    connection to each target's port. Returns one result per target.
  - With O(published_port), also opens TCP to the port a target's container publishes
    (C(docker run -p PORT:PORT)), as an application reaches it - through the target host's
    address (Docker's DNAT), and through the container's own address.
  - The probes are run in parallel, up to 16 at a time, so the call takes about as long
    as the slowest target, not the sum of all.
  - Used by the flannel_verify role (verify, and the per-batch check of C(upgrade.yml)); the
    verdict over all nodes is made on the controller (C(flannel_verify_report),
    C(flannel_batch_verdict)).
  - Needs C(nsenter), C(ping) (iputils or busybox) and C(python3) on the node.
version_added: "0.6.0"
author:
  - flannel-ansible maintainers
options:
  pid:
    description: PID of a process in the probe container (C(docker inspect .State.Pid)).
    type: int
    required: true
  mtu:
    description: The overlay MTU; each ping fills it (payload = MTU - 28), with DF set.
    type: int
    required: true
  port:
    description: TCP port every target serves on (not published).
    type: int
    required: true
  published_port:
    description:
      - TCP port every target's container publishes, on the same host port; V(0) probes no
        published port (the C(published_*) results are then V(null)).
    type: int
    default: 0
  targets:
    description:
      - >-
        The targets, as C({name: address}) with the container's address, or as
        C({name: {container: address, host: address}}) with the target host's address too
        (the published port is probed through it; a name is resolved on this node).
    type: dict
    required: true
  count:
    description: Pings per target.
    type: int
    default: 3
notes:
  - Supports check mode; it only sends probes and never reports a change.
"""

EXAMPLES = r"""
- name: Probe every other node's probe container
  overlay_check:
    pid: 4242
    mtu: 1450
    port: 7777
    published_port: 7778
    targets:
      flab2: {container: 10.244.20.2, host: 10.77.0.12}
      flab3: {container: 10.244.36.2, host: 10.77.0.13}
  register: flannel_verify_pairs_raw
"""

RETURN = r"""
pairs:
  description: One entry per target, in the order of the names.
  returned: always
  type: list
  elements: dict
  contains:
    target:
      description: The target's name.
      type: str
    ip:
      description: The target container's address.
      type: str
    host_ip:
      description: The target host's address the published port was probed through, else empty.
      type: str
    ping_ok:
      description: Every ping was answered.
      type: bool
    rtt_ms:
      description: Average round trip in ms, or null.
      type: float
    tcp_ok:
      description: The TCP connection to O(port) was accepted.
      type: bool
    tcp_connect_ms:
      description: Connect time in ms, or null.
      type: float
    published_host_ok:
      description:
        - The TCP connection to O(published_port) on the host's address was accepted.
        - Null when not probed (no O(published_port), or no host address).
      type: bool
    published_host_connect_ms:
      description: Its connect time in ms, or null.
      type: float
    published_container_ok:
      description:
        - The TCP connection to O(published_port) on the container's address was accepted.
        - Null without O(published_port).
      type: bool
    published_container_connect_ms:
      description: Its connect time in ms, or null.
      type: float
    error:
      description:
        - What failed, else empty; one part per failed probe, in this order, joined by C(; ).
        - >-
          ping's loss summary (C(ping: ...)), the TCP error (C(tcp: ...)),
          C(published via host ADDRESS:PORT: ...) and C(published via container ADDRESS:PORT: ...).
      type: str
ok:
  description: Every target answered every probe that was sent.
  returned: always
  type: bool
"""

# Probes run at the same time from one node (a large cluster is probed in waves).
MAX_PARALLEL = 16
# Seconds between the pings to one target (root may go below iputils' 0.2 s): 3 pings
# take 0.1 s, not 0.4 s.
PING_INTERVAL = "0.05"
ICMP_IPV4_OVERHEAD = 28  # 20-byte IPv4 header + 8-byte ICMP header
# Run inside the probe's netns by the node's python3: prints the connect time in ms,
# or exits non-zero with one line naming the error.
TCP_CHECK = """
import socket, sys, time
start = time.monotonic()
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), 3).close()
except OSError as exc:
    sys.exit(f"tcp: {type(exc).__name__}: {exc}")
print(round((time.monotonic() - start) * 1000, 3))
"""
# The published port's two ways in: the result keys' infix and the name in errors.
PUBLISHED = (("host", "published via host"), ("container", "published via container"))

# run(argv) -> (rc, stdout, stderr), as AnsibleModule.run_command returns it.
Runner = Callable[[list[str]], tuple[int, str, str]]


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def ping_error(stdout: str, stderr: str) -> str:
    """ping's loss summary ("3 packets transmitted, 0 received, ..."), else its last line."""
    summary = re.search(r"^\d+ packets transmitted.*$", stdout, re.M)
    return "ping: " + (summary.group(0) if summary else last_line(stderr + stdout))


def average_rtt(stdout: str) -> float | None:
    """The average of ping's min/avg/max line (iputils and busybox print one)."""
    match = re.search(r"= [\d.]+/([\d.]+)/", stdout)
    return float(match.group(1)) if match else None


def endpoint(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def resolve(address: str) -> tuple[str, str]:
    """(address, "") for an IP address; a name is resolved here, in the node's own network
    namespace, where its resolver answers (IPv4 first): (its address, "") or (name, why)."""
    try:
        return str(ipaddress.ip_address(address)), ""
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(address, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        return address, f"cannot resolve {address}: {exc}"
    infos.sort(key=lambda info: info[0] != socket.AF_INET)
    return str(infos[0][4][0]), ""


def tcp(run: Runner, netns: list[str], ip: str, port: int) -> tuple[bool, float | None, str]:
    """(accepted, connect ms, error) of a TCP connection from the probe's netns."""
    rc, out, err = run([*netns, "python3", "-c", TCP_CHECK, ip, str(port)])
    if rc:
        return False, None, last_line(err)
    return True, float(out) if out.strip() else None, ""


def probe(run: Runner, pid: int, mtu: int, port: int, name: str, ip: str, count: int) -> dict:
    """The DF pings and the TCP connection to the unpublished port."""
    netns = ["nsenter", "-t", str(pid), "-n"]
    size = str(mtu - ICMP_IPV4_OVERHEAD)
    ping_argv = ["ping", "-n", "-q", "-M", "do", "-c", str(count), "-i", PING_INTERVAL, "-W", "2"]
    p_rc, p_out, p_err = run([*netns, *ping_argv, "-s", size, ip])
    t_ok, t_ms, t_err = tcp(run, netns, ip, port)
    errors = [ping_error(p_out, p_err) if p_rc else "", t_err]
    return {
        "target": name,
        "ip": ip,
        "ping_ok": p_rc == 0,
        "rtt_ms": average_rtt(p_out),
        "tcp_ok": t_ok,
        "tcp_connect_ms": t_ms,
        "error": "; ".join(e for e in errors if e),
    }


def published(run: Runner, pid: int, way: str, address: str, port: int) -> dict:
    """TCP to the published port one way in (PUBLISHED): ``{published_<way>_ok, ..._ms,
    error}``; ok is None when there is nothing to probe."""
    key, label = f"published_{way}", dict(PUBLISHED)[way]
    if not port or not address:
        return {f"{key}_ok": None, f"{key}_connect_ms": None, "error": ""}
    ip, error = resolve(address)
    where = f"{label} {endpoint(ip, port)}"
    if error:
        return {f"{key}_ok": False, f"{key}_connect_ms": None, "error": f"{where}: {error}"}
    ok, ms, error = tcp(run, ["nsenter", "-t", str(pid), "-n"], ip, port)
    error = error.removeprefix("tcp: ") or "failed"
    return {f"{key}_ok": ok, f"{key}_connect_ms": ms, "error": "" if ok else f"{where}: {error}"}


def addresses(value: object) -> dict[str, str]:
    """{container, host} of a target given as ``address`` or ``{container: ..., host: ...}``."""
    if isinstance(value, Mapping):
        return {way: str(value.get(way) or "") for way in ("container", "host")}
    return {"container": str(value), "host": ""}


def pair_ok(pair: Mapping) -> bool:
    """Every probe that was sent was answered (a published probe not sent is None)."""
    sent = [pair.get(f"published_{way}_ok") for way, _ in PUBLISHED]
    return bool(pair.get("ping_ok") and pair.get("tcp_ok")) and False not in sent


def check(
    run: Runner,
    pid: int,
    mtu: int,
    port: int,
    targets: Mapping[str, object],
    count: int,
    published_port: int = 0,
) -> dict:
    """Probe the targets at once (up to MAX_PARALLEL probes at a time, a thread each: the
    time is ping's and TCP's, spent waiting), and list the pairs in target-name order.
    Every target's pings and unpublished TCP go first, then the published probes."""
    names = sorted(targets)
    ends = {n: addresses(targets[n]) for n in names}
    jobs: list[tuple[str, Callable[[], dict]]] = [
        (n, lambda n=n: probe(run, pid, mtu, port, n, ends[n]["container"], count)) for n in names
    ]
    if published_port:
        jobs += [
            (n, lambda n=n, w=way: published(run, pid, w, ends[n][w], published_port))
            for n in names
            for way, _ in PUBLISHED
        ]
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(jobs)))) as pool:
        results = list(pool.map(lambda job: job[1](), jobs))
    found: dict[str, dict] = {n: {} for n in names}
    errors: dict[str, list[str]] = {n: [] for n in names}
    for (name, _), result in zip(jobs, results, strict=True):
        errors[name].append(result.pop("error"))
        found[name].update(result)
    out = []
    for name in names:
        pair = dict(found[name], host_ip=ends[name]["host"])
        for way, _ in PUBLISHED:
            pair.setdefault(f"published_{way}_ok", None)
            pair.setdefault(f"published_{way}_connect_ms", None)
        out.append(dict(pair, error="; ".join(e for e in errors[name] if e)))
    return {"pairs": out, "ok": all(pair_ok(p) for p in out)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "pid": {"type": "int", "required": True},
            "mtu": {"type": "int", "required": True},
            "port": {"type": "int", "required": True},
            "published_port": {"type": "int", "default": 0},
            "targets": {"type": "dict", "required": True},
            "count": {"type": "int", "default": 3},
        },
        supports_check_mode=True,
    )
    p = module.params

    def run(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv)

    result = check(
        run, p["pid"], p["mtu"], p["port"], p["targets"], p["count"], p["published_port"]
    )
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
