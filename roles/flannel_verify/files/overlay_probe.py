#!/usr/bin/env python3
"""Cross-host overlay probe, run on a node by playbooks/verify.yml (stdlib only).

  overlay_probe.py pairs PID MTU PORT NAME=IP [NAME=IP ...]
      From the network namespace of the probe container (PID): a DF ping whose
      packets fill the overlay MTU, and a TCP connection to PORT, to each target.

Prints JSON on stdout.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

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


def in_netns(pid: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", "-t", pid, "-n", *argv], capture_output=True, text=True, timeout=30
    )


def last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""


def ping_error(ping: subprocess.CompletedProcess[str]) -> str:
    """ping's loss summary ("3 packets transmitted, 0 received, ..."), else its last line."""
    summary = re.search(r"^\d+ packets transmitted.*$", ping.stdout, re.M)
    return "ping: " + (summary.group(0) if summary else last_line(ping.stderr + ping.stdout))


def pairs(pid: str, mtu: int, port: str, targets: list[str]) -> list[dict[str, object]]:
    results = []
    for target in targets:
        name, ip = target.split("=", 1)
        ping = in_netns(
            pid,
            ["ping", "-n", "-q", "-M", "do", "-c", "3", "-i", "0.2", "-W", "2",
             "-s", str(mtu - ICMP_IPV4_OVERHEAD), ip],
        )  # fmt: skip
        rtt = re.search(r"= [\d.]+/([\d.]+)/", ping.stdout)
        tcp = in_netns(pid, ["python3", "-c", TCP_CHECK, ip, port])
        results.append(
            {
                "target": name,
                "ip": ip,
                "ping_ok": ping.returncode == 0,
                "rtt_ms": float(rtt.group(1)) if rtt else None,
                "tcp_ok": tcp.returncode == 0,
                "tcp_connect_ms": float(tcp.stdout) if tcp.returncode == 0 else None,
                "error": "; ".join(
                    part
                    for part in (
                        ping_error(ping) if ping.returncode else "",
                        last_line(tcp.stderr) if tcp.returncode else "",
                    )
                    if part
                ),
            }
        )
    return results


def main(argv: list[str]) -> int:
    if argv[:1] == ["pairs"] and len(argv) >= 4:
        print(json.dumps(pairs(argv[1], int(argv[2]), argv[3], argv[4:])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
