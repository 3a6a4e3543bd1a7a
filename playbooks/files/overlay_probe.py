#!/usr/bin/env python3
"""Cross-host overlay probe, run on a node by playbooks/verify.yml (stdlib only).

  overlay_probe.py pairs PID MTU PORT NAME=IP [NAME=IP ...]
      From the network namespace of the probe container (PID): a DF ping whose
      packets fill the overlay MTU, and a TCP connection to PORT, to each target.
  overlay_probe.py leases OPTIONS_FILE
      The subnet leases in etcd, read with flanneld's own endpoints and client
      certificate from its options file.

Prints JSON on stdout.
"""

from __future__ import annotations

import base64
import json
import re
import shlex
import ssl
import subprocess
import sys
import urllib.request

ICMP_IPV4_OVERHEAD = 28  # 20-byte IPv4 header + 8-byte ICMP header
TCP_CHECK = (
    "import socket,sys,time;t=time.monotonic();"
    "socket.create_connection((sys.argv[1],int(sys.argv[2])),3).close();"
    "print(round((time.monotonic()-t)*1000,3))"
)


def in_netns(pid: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["nsenter", "-t", pid, "-n", *argv], capture_output=True, text=True, timeout=30
    )


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
                "error": (ping.stdout + ping.stderr + tcp.stderr).strip()[-300:]
                if ping.returncode or tcp.returncode
                else "",
            }
        )
    return results


def leases(options_file: str) -> dict[str, dict[str, object]]:
    opts: dict[str, str] = {}
    with open(options_file) as fh:
        for line in fh:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.strip().split("=", 1)
                opts[key] = " ".join(shlex.split(value))
    prefix = opts["FLANNEL_ETCD_PREFIX"].rstrip("/") + "/subnets/"
    ctx = None
    if opts.get("FLANNEL_ETCD_CERTFILE"):
        ctx = ssl.create_default_context(cafile=opts["FLANNEL_ETCD_CAFILE"])
        ctx.load_cert_chain(opts["FLANNEL_ETCD_CERTFILE"], opts["FLANNEL_ETCD_KEYFILE"])
    body = json.dumps(
        {
            "key": base64.b64encode(prefix.encode()).decode(),
            "range_end": base64.b64encode(prefix[:-1].encode() + b"0").decode(),
        }
    ).encode()
    errors = []
    for endpoint in opts["FLANNEL_ETCD_ENDPOINTS"].split(","):
        try:
            req = urllib.request.Request(f"{endpoint}/v3/kv/range", data=body, method="POST")
            with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
                kvs = json.load(resp).get("kvs", [])
            return {
                base64.b64decode(kv["key"]).decode()[len(prefix) :]: json.loads(
                    base64.b64decode(kv["value"])
                )
                for kv in kvs
            }
        except OSError as exc:
            errors.append(f"{endpoint}: {exc}")
    raise SystemExit("no etcd endpoint answered: " + "; ".join(errors))


def main(argv: list[str]) -> int:
    if argv[:1] == ["pairs"] and len(argv) >= 4:
        print(json.dumps(pairs(argv[1], int(argv[2]), argv[3], argv[4:])))
    elif argv[:1] == ["leases"] and len(argv) == 2:
        print(json.dumps(leases(argv[1])))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
