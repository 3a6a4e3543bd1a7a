"""The lab's networking on the controller: the bridge, the hosts' veths and named
network namespaces, and the controller's own networks."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path

from lab.config import Config
from lab.proc import container_init, run


def controller_networks(exclude_dev: str) -> list[str]:
    """The controller's own IPv4 networks (addresses and routes), minus the lab bridge."""
    nets: list[str] = []
    for entry in json.loads(run(["ip", "-j", "-4", "addr", "show"]) or "[]"):
        if entry.get("ifname") == exclude_dev:
            continue
        for addr in entry.get("addr_info", []):
            nets.append(f"{addr['local']}/{addr['prefixlen']}")
    for route in json.loads(run(["ip", "-j", "-4", "route", "show", "table", "all"]) or "[]"):
        dst = route.get("dst", "")
        if (
            route.get("dev") == exclude_dev
            or dst in ("default", "")
            or route.get("type")
            in (
                "local",
                "broadcast",
            )
        ):
            continue
        nets.append(dst if "/" in dst else f"{dst}/32")
    return nets


def ensure_bridge(cfg: Config) -> None:
    if not Path(f"/sys/class/net/{cfg.bridge}").exists():
        run(["ip", "link", "add", cfg.bridge, "type", "bridge"])
    run(["ip", "addr", "replace", f"{cfg.gateway}/{cfg.cidr.prefixlen}", "dev", cfg.bridge])
    run(["ip", "link", "set", cfg.bridge, "up"])
    # Bridged lab traffic must not depend on the controller's FORWARD policy.
    sysctl = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if sysctl.exists() and sysctl.read_text().strip() == "1" and shutil.which("iptables"):
        rule = ["FORWARD", "-i", cfg.bridge, "-o", cfg.bridge, "-j", "ACCEPT"]
        if subprocess.run(["iptables", "-C", *rule], capture_output=True).returncode != 0:
            run(["iptables", "-I", *rule])


def attach_netns(name: str, nspawn: int, timeout: float = 30) -> int | None:
    """Name the machine's network namespace (ip netns exec NAME ...), again after a reboot.

    Returns the machine's init PID, or None when it did not appear in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        init = container_init(nspawn)
        if init:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True)
            cmd = ["ip", "netns", "attach", name, str(init)]
            subprocess.run(cmd, capture_output=True, check=True)
            return init
        time.sleep(0.1)
    return None


def lab_netns(cfg: Config) -> list[str]:
    netns = Path("/run/netns")
    return sorted(n.name for n in netns.iterdir() if cfg.is_host(n.name)) if netns.exists() else []


def lab_links(cfg: Config) -> list[str]:
    """The lab bridge and host-side veths (vb-flab1, ...) that still exist."""
    return sorted(
        n.name
        for n in Path("/sys/class/net").iterdir()
        if n.name == cfg.bridge or (n.name.startswith("vb-") and cfg.is_host(n.name[3:]))
    )


def netns_pids(names: Iterable[str]) -> list[int]:
    """Processes living in the named network namespaces (a machine's init and all below)."""
    inodes = set()
    for name in names:
        with contextlib.suppress(OSError):
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and inodes:
            with contextlib.suppress(OSError):
                if os.stat(entry / "ns" / "net").st_ino in inodes:
                    found.append(int(entry.name))
    return found


def ssh_sockets(proc_net_tcp: str, cidr: ipaddress.IPv4Network) -> set[str]:
    """The sockets ("socket:[inode]") of /proc/net/tcp's text that connect to port 22 of
    an address in `cidr`."""
    found = set()
    for line in proc_net_tcp.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        addr, _, port = fields[2].partition(":")
        with contextlib.suppress(ValueError):
            if int(port, 16) == 22 and ipaddress.IPv4Address(bytes.fromhex(addr)[::-1]) in cidr:
                found.add(f"socket:[{fields[9]}]")
    return found


def ssh_client_pids(cfg: Config) -> list[int]:
    """ssh processes of this machine connected to a lab host's sshd: above all the control
    masters of Ansible and the tests, which outlive their runs by ControlPersist and
    rename themselves ("ssh: PATH [mux]"), so no marker path finds them. Left alive,
    one would carry the next lab's first connection to a machine that is gone."""
    try:
        sockets = ssh_sockets(Path("/proc/net/tcp").read_text(), cfg.cidr)
    except OSError:
        return []
    found = []
    for entry in Path("/proc").iterdir() if sockets else ():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (entry / "comm").read_text().strip() == "ssh" and any(
                os.readlink(fd) in sockets for fd in (entry / "fd").iterdir()
            ):
                found.append(int(entry.name))
    return found
