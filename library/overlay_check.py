#!/usr/bin/python
"""Ansible module overlay_check: probe other nodes' containers over the overlay, from a
container of this node."""

from __future__ import annotations

import re
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
  - The targets are probed in parallel, up to 16 at a time, so the call takes about as long
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
    description: TCP port every target serves on.
    type: int
    required: true
  targets:
    description: The targets, as C({name: address}).
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
    targets: {flab2: 10.244.20.2, flab3: 10.244.36.2}
  register: flannel_verify_pairs_raw
"""

RETURN = r"""
pairs:
  description: One entry per target, in the order of the names.
  returned: always
  type: list
  elements: dict
  contains:
    target: {description: The target's name., type: str}
    ip: {description: The target's address., type: str}
    ping_ok: {description: Every ping was answered., type: bool}
    rtt_ms: {description: Average round trip in ms, or null., type: float}
    tcp_ok: {description: The TCP connection was accepted., type: bool}
    tcp_connect_ms: {description: Connect time in ms, or null., type: float}
    error: {description: What failed (ping's loss summary, the TCP error), else empty., type: str}
ok:
  description: Every target answered both probes.
  returned: always
  type: bool
"""

# Targets probed at the same time from one node (a large cluster probes in waves).
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


def probe(run: Runner, pid: int, mtu: int, port: int, name: str, ip: str, count: int) -> dict:
    netns = ["nsenter", "-t", str(pid), "-n"]
    size = str(mtu - ICMP_IPV4_OVERHEAD)
    ping_argv = ["ping", "-n", "-q", "-M", "do", "-c", str(count), "-i", PING_INTERVAL, "-W", "2"]
    p_rc, p_out, p_err = run([*netns, *ping_argv, "-s", size, ip])
    t_rc, t_out, t_err = run([*netns, "python3", "-c", TCP_CHECK, ip, str(port)])
    errors = [ping_error(p_out, p_err) if p_rc else "", last_line(t_err) if t_rc else ""]
    return {
        "target": name,
        "ip": ip,
        "ping_ok": p_rc == 0,
        "rtt_ms": average_rtt(p_out),
        "tcp_ok": t_rc == 0,
        "tcp_connect_ms": float(t_out) if t_rc == 0 and t_out.strip() else None,
        "error": "; ".join(e for e in errors if e),
    }


def check(
    run: Runner, pid: int, mtu: int, port: int, targets: Mapping[str, str], count: int
) -> dict:
    """Probe the targets at once (up to MAX_PARALLEL at a time, a thread each: the time is
    ping's, spent waiting), and list the pairs in target-name order."""
    names = sorted(targets)
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL, len(names)))) as pool:
        pairs = list(
            pool.map(lambda n: probe(run, pid, mtu, port, n, str(targets[n]), count), names)
        )
    return {"pairs": pairs, "ok": all(p["ping_ok"] and p["tcp_ok"] for p in pairs)}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "pid": {"type": "int", "required": True},
            "mtu": {"type": "int", "required": True},
            "port": {"type": "int", "required": True},
            "targets": {"type": "dict", "required": True},
            "count": {"type": "int", "default": 3},
        },
        supports_check_mode=True,
    )
    p = module.params

    def run(argv: list[str]) -> tuple[int, str, str]:
        return module.run_command(argv)

    module.exit_json(
        changed=False, **check(run, p["pid"], p["mtu"], p["port"], p["targets"], p["count"])
    )


if __name__ == "__main__":
    main()
