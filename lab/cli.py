"""The flannel-ansible lab: N Debian hosts as systemd-nspawn machines on one bridge.

Every host is a real systemd machine with its own network namespace, address, sshd,
python3 and /dev/net/tun, able to run dockerd and its containers. Hosts boot from a
cached debootstrap tree (one per Debian release) through a per-host overlayfs, and
their only apt source is a flat repository served by the controller on the lab bridge.

Everything `up` makes is recorded under one state directory (default
/var/lib/flannel-lab), and every process, mount and link it makes carries a name or a
path that `down` can find again even when `up` was killed half-way.

This module is the command line, `python -m lab up|down|status`, and its commands; the
work is done by lab.config, lab.proc, lab.images, lab.net, lab.hosts, lab.server and
lab.inventory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from lab.config import MAX_HOSTS, RELEASES, Config, LabError, check_collisions
from lab.hosts import (
    any_running,
    nspawn_pid,
    prepare_host,
    ssh_key,
    start_host,
    stop_host,
    supervise,
    wait_ssh,
)
from lab.images import base_tree, default_flanneld, docker_repo, docker_repo_record, repo
from lab.inventory import inventory_text
from lab.net import (
    controller_networks,
    ensure_bridge,
    lab_links,
    lab_netns,
    netns_pids,
    ssh_client_pids,
)
from lab.proc import (
    container_init,
    lab_cgroups,
    lab_mounts,
    lab_pids,
    lock_lab,
    log,
    processes_argv,
    read_pid,
    remove_cgroups,
    unmount_all,
    write,
)
from lab.server import ensure_server, serve


def load_state(cfg: Config) -> dict[str, object]:
    try:
        return json.loads((cfg.state / "lab.json").read_text())
    except (OSError, ValueError):
        return {}


def up(cfg: Config, count: int, release: str, flanneld: Path | None) -> None:
    if os.geteuid() != 0:
        raise LabError("the lab needs root (systemd-nspawn, bridges, mounts)")
    if release not in RELEASES:
        raise LabError(f"release {release!r} is not supported; choose one of {', '.join(RELEASES)}")
    if not 1 <= count <= MAX_HOSTS:
        raise LabError(f"--hosts {count}: choose 1..{MAX_HOSTS}")
    if flanneld and not os.access(flanneld, os.X_OK):
        raise LabError(f"--flanneld {flanneld}: not an executable file (run make flanneld)")
    for tool in ("systemd-nspawn", "debootstrap", "dpkg-scanpackages", "apt-ftparchive"):
        if not shutil.which(tool):
            raise LabError(f"{tool} is missing: run `make setup` (scripts/host-deps.sh)")
    state = load_state(cfg)
    if state and state.get("release") != release and any_running(cfg):
        raise LabError(
            f"the lab is running {state.get('release')}; run `make lab-down` before "
            f"switching to {release}"
        )
    check_collisions(cfg, controller_networks(cfg.bridge))
    started = time.monotonic()
    cfg.state.mkdir(parents=True, exist_ok=True)
    # `down` kills a running (or orphaned, after make was killed) `up` through this file.
    write(cfg.state / "up.pid", f"{os.getpid()}\n")
    base = base_tree(cfg, release)
    docker_repo(cfg, release, base, repo(cfg, release, base))
    ssh_key(cfg)
    flanneld = flanneld or default_flanneld(cfg)
    link = cfg.state / "flanneld"
    link.unlink(missing_ok=True)
    if flanneld:
        link.symlink_to(flanneld)
    hosts = [
        {"name": cfg.host_name(i), "address": str(cfg.host_ip(i))} for i in range(1, count + 1)
    ]
    record = {
        "release": release,
        "cidr": str(cfg.cidr),
        "key": str(cfg.key),
        "flanneld": str(link) if flanneld else None,
        "hosts": hosts,
        "docker_repo": docker_repo_record(cfg),
    }
    write(cfg.state / "lab.json", json.dumps(record, indent=1) + "\n")
    ensure_bridge(cfg)
    ensure_server(cfg)
    for index in range(count + 1, MAX_HOSTS + 1):  # shrink: stop hosts beyond the count
        if cfg.host_dir(cfg.host_name(index)).exists():
            stop_host(cfg, cfg.host_name(index))
    for index in range(1, count + 1):
        prepare_host(cfg, release, base, index, count)
        start_host(cfg, cfg.host_name(index))
    deadline = time.monotonic() + 120
    for index in range(1, count + 1):
        wait_ssh(cfg, index, deadline)
    write(cfg.inventory, inventory_text(cfg, release, count, link if flanneld else None))
    (cfg.state / "up.pid").unlink(missing_ok=True)
    log(
        f"{count} {release} host(s) up in {time.monotonic() - started:.1f}s; "
        f"inventory: {cfg.inventory}"
    )


def down(cfg: Config) -> None:
    """Remove everything `up` made, whether or not `up` finished."""
    if os.geteuid() != 0:
        raise LabError("the lab needs root")
    started = time.monotonic()
    # 0. An `up` still running (say, orphaned when make was killed) must not race us.
    if (up_pid := read_pid(cfg.state / "up.pid")) and up_pid != os.getpid():
        with contextlib.suppress(ProcessLookupError):
            os.kill(up_pid, signal.SIGKILL)
    # 1. Clean poweroff: supervisors forward SIGTERM to nspawn, which shuts the machine down.
    for pidfile in (cfg.state / "hosts").glob("*/supervisor.pid"):
        pid = read_pid(pidfile)
        if pid:
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(
        argv and argv[0].endswith("systemd-nspawn")
        for argv in (processes_argv(p) for p in lab_pids(cfg))
    ):
        time.sleep(0.3)
    # 2. Anything left (a killed `up`, a hung machine, ssh clients and control masters
    #    connected to the hosts, the repo server): kill.
    #    Machines whose nspawn died are found through their named network namespaces.
    names = lab_netns(cfg)
    for _ in range(5):
        pids = lab_pids(cfg) + netns_pids(names) + ssh_client_pids(cfg)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.3)
    remove_cgroups(cfg)
    # 3. Named network namespaces, mounts, links.
    for name in names:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    unmount_all(cfg)
    for link in lab_links(cfg):
        subprocess.run(["ip", "link", "delete", link], capture_output=True)
    if shutil.which("iptables"):
        rule = ["FORWARD", "-i", cfg.bridge, "-o", cfg.bridge, "-j", "ACCEPT"]
        while subprocess.run(["iptables", "-D", *rule], capture_output=True).returncode == 0:
            pass
    # 4. State, and the half-built trees a killed build may have left in the cache.
    if cfg.state.exists():
        shutil.rmtree(cfg.state)
    shutil.rmtree(cfg.build_tmp, ignore_errors=True)
    cfg.inventory.unlink(missing_ok=True)
    leftovers = leftover_report(cfg)
    if leftovers:
        raise LabError("down left these behind: " + "; ".join(leftovers))
    log(f"lab is down ({time.monotonic() - started:.1f}s)")


def leftover_report(cfg: Config) -> list[str]:
    """Everything of the lab's that still exists; empty when the lab is fully down."""
    found = []
    if pids := lab_pids(cfg):
        found.append(f"processes {pids}")
    if mounts := lab_mounts(cfg):
        found.append(f"mounts {mounts}")
    if cgroups := [str(c) for c in lab_cgroups(cfg) if c.exists()]:
        found.append(f"cgroups {cgroups}")
    if links := lab_links(cfg):
        found.append(f"links {links}")
    if names := lab_netns(cfg):
        found.append(f"netns {names}")
    if cfg.state.exists():
        found.append(f"state {cfg.state}")
    return found


def status(cfg: Config) -> int:
    state = load_state(cfg)
    if not state and not leftover_report(cfg):
        print("lab: down")
        return 0
    print(f"lab: release={state.get('release', '?')} network={cfg.cidr} bridge={cfg.bridge}")
    http = "up" if read_pid(cfg.state / "http.pid") else "down"
    print(f"apt repository: http://{cfg.gateway}:{cfg.port}/ ({http})")
    code = 0
    for hdir in sorted(
        (cfg.state / "hosts").glob("*"), key=lambda p: int(p.name[len(cfg.prefix) :])
    ):
        index = int(hdir.name[len(cfg.prefix) :])
        ip = str(cfg.host_ip(index))
        sup = read_pid(hdir / "supervisor.pid")
        ns = nspawn_pid(sup) if sup else None
        init = container_init(ns) if ns else None
        sshd = "closed"
        with contextlib.suppress(OSError), socket.create_connection((ip, 22), timeout=1):
            sshd = "open"
        running = "running" if init else "stopped"
        code = code or (0 if init and sshd == "open" else 1)
        print(f"  {hdir.name:8} {ip:15} {running:8} init={init or '-'} ssh={sshd}")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="create or reconcile the lab (idempotent)")
    p_up.add_argument("--hosts", type=int, default=3)
    p_up.add_argument("--release", default="trixie", choices=RELEASES)
    p_up.add_argument("--flanneld", type=Path, help="flanneld binary handed to the roles")
    p_up.add_argument(
        "--fresh",
        action="store_true",
        help="new hosts only: take down whatever lab is up or half-removed first",
    )
    sub.add_parser("down", help="remove everything up made, also after a crash")
    sub.add_parser("status", help="show the lab")
    p_run = sub.add_parser("_run")  # internal: supervise one machine
    p_run.add_argument("name")
    p_srv = sub.add_parser("_serve")  # internal: the apt repository server
    p_srv.add_argument("dir", type=Path)
    p_srv.add_argument("bind")
    p_srv.add_argument("port", type=int)
    args = parser.parse_args(argv)
    try:
        cfg = Config.from_env()
        if args.cmd in ("up", "down"):
            lock_lab(cfg, kill_holder=args.cmd == "down")
        if args.cmd == "up":
            flanneld = args.flanneld.resolve() if args.flanneld else None
            if args.fresh and (load_state(cfg) or leftover_report(cfg)):
                log("--fresh: a lab (or what is left of one) is up; taking it down first")
                down(cfg)
            up(cfg, args.hosts, args.release, flanneld)
        elif args.cmd == "down":
            down(cfg)
        elif args.cmd == "status":
            return status(cfg)
        elif args.cmd == "_run":
            return supervise(cfg, args.name)
        elif args.cmd == "_serve":
            serve(args.dir, args.bind, args.port)
    except LabError as exc:
        log(f"error: {exc}")
        return 1
    return 0
