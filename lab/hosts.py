"""The lab's hosts: their per-host overlays, booting and supervising the nspawn
machines, stopping them, and ssh to them."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from lab.config import PROJECT, Config, LabError
from lab.images import overlay_mount
from lab.net import attach_netns, netns_pids
from lab.proc import (
    join_cgroup,
    lab_mounts,
    lab_pids,
    log,
    mentions,
    pid_alive,
    processes_argv,
    read_pid,
    run,
    under,
    write,
)

REBOOT_EXIT = 133  # systemd-nspawn's exit code when the machine asked to reboot


def ssh_key(cfg: Config) -> Path:
    if not cfg.key.exists():
        cfg.key.parent.mkdir(parents=True, exist_ok=True)
        run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "flannel-lab", "-f", str(cfg.key)]
        )
    return cfg.key


def host_files(cfg: Config, release: str, index: int, count: int) -> dict[str, tuple[str, int]]:
    """Per-host files written into the host's overlay: path -> (content, mode)."""
    name, ip = cfg.host_name(index), cfg.host_ip(index)
    hosts = "127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
    hosts += "".join(f"{cfg.host_ip(i)} {cfg.host_name(i)}\n" for i in range(1, count + 1))
    net_unit = f"""[Unit]
Description=Lab address on host0
DefaultDependencies=no
Before=network-pre.target network.target network-online.target
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'ip link set host0 up && ip addr replace {ip}/{cfg.cidr.prefixlen} dev host0'

[Install]
WantedBy=multi-user.target network-online.target
"""
    return {
        "etc/hostname": (f"{name}\n", 0o644),
        "etc/hosts": (hosts, 0o644),
        "etc/resolv.conf": ("# lab host: no DNS, no route off the machine\n", 0o644),
        "etc/apt/sources.list": (
            f"deb [trusted=yes] http://{cfg.gateway}:{cfg.port}/{release} ./\n",
            0o644,
        ),
        "etc/systemd/system/flab-net.service": (net_unit, 0o644),
        "root/.ssh/authorized_keys": (cfg.key.with_suffix(".pub").read_text(), 0o600),
    }


def prepare_host(cfg: Config, release: str, base: Path, index: int, count: int) -> Path:
    name = cfg.host_name(index)
    hdir = cfg.host_dir(name)
    root = overlay_mount(base, hdir)
    for rel, (text, mode) in host_files(cfg, release, index, count).items():
        write(root / rel, text, mode)
    (root / "root" / ".ssh").chmod(0o700)
    for unit_dir in ("multi-user.target.wants", "network-online.target.wants"):
        link = root / "etc/systemd/system" / unit_dir / "flab-net.service"
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.is_symlink():
            link.symlink_to("/etc/systemd/system/flab-net.service")
    for extra in (root / "etc/apt/sources.list.d").glob("*"):
        extra.unlink()
    machine_id = root / "etc" / "machine-id"
    if not machine_id.read_text().strip():
        write(machine_id, uuid.uuid4().hex + "\n", 0o444)
    hostkey = root / "etc/ssh/ssh_host_ed25519_key"
    if not hostkey.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(hostkey)])
    for d in ("var-lib-docker", "var-lib-containerd"):
        (hdir / d).mkdir(exist_ok=True)
    return root


def nspawn_argv(cfg: Config, name: str) -> list[str]:
    hdir = cfg.host_dir(name)
    return [
        "systemd-nspawn",
        "--quiet",
        "--boot",
        f"--directory={hdir / 'root'}",
        f"--machine={name}",
        "--register=no",
        "--keep-unit",
        f"--network-bridge={cfg.bridge}",
        "--capability=all",
        "--system-call-filter=@keyring bpf",
        "--resolv-conf=off",
        "--console=read-only",
        "--bind=/dev/net/tun",
        f"--bind={hdir / 'var-lib-docker'}:/var/lib/docker",
        f"--bind={hdir / 'var-lib-containerd'}:/var/lib/containerd",
    ]


def supervise(cfg: Config, name: str) -> int:
    """Run one machine in the foreground; boot it again when it asks to reboot."""
    join_cgroup(cfg, name)
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True
        if child and child.poll() is None:
            child.send_signal(signal.SIGTERM)  # nspawn turns this into a clean poweroff

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    env = dict(os.environ, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY="1")
    while True:
        child = subprocess.Popen(nspawn_argv(cfg, name), env=env, stdin=subprocess.DEVNULL)
        if attach_netns(name, child.pid):
            # Also set the address from outside: the host's own flab-net.service does the
            # same, but early-boot unit failures must not cost a host its address.
            ip = cfg.host_ip(int(name[len(cfg.prefix) :]))
            addr = [
                "ip",
                "-n",
                name,
                "addr",
                "replace",
                f"{ip}/{cfg.cidr.prefixlen}",
                "dev",
                "host0",
            ]
            subprocess.run(["ip", "-n", name, "link", "set", "host0", "up"], capture_output=True)
            subprocess.run(addr, capture_output=True)
        code = child.wait()
        if stopping or code != REBOOT_EXIT:
            return code
        log(f"{name} rebooted; starting it again")


def start_host(cfg: Config, name: str) -> int:
    hdir = cfg.host_dir(name)
    pid = read_pid(hdir / "supervisor.pid")
    if pid:
        return pid
    logf = open(hdir / "console.log", "ab")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "_run", name],
        cwd=PROJECT,
        env=dict(os.environ, PYTHONPATH=str(PROJECT), FLAB_STATE=str(cfg.state)),
        stdin=subprocess.DEVNULL,
        stdout=logf,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    logf.close()
    (hdir / "supervisor.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def nspawn_pid(supervisor: int) -> int | None:
    try:
        kids = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    except OSError:
        return None
    return int(kids[0]) if kids else None


def wait_ssh(cfg: Config, index: int, deadline: float) -> None:
    """Wait until the host answers on ssh and has booted. The answer must carry the host
    key its overlay was given, so a leftover machine at the same address is refused."""
    name, ip = cfg.host_name(index), str(cfg.host_ip(index))
    pub = cfg.host_dir(name) / "root/etc/ssh/ssh_host_ed25519_key.pub"
    known = cfg.host_dir(name) / "known_hosts"
    known.write_text(f"{ip} {' '.join(pub.read_text().split()[:2])}\n")
    last = ""
    while time.monotonic() < deadline:
        if read_pid(cfg.host_dir(name) / "supervisor.pid") is None:
            tail = (cfg.host_dir(name) / "console.log").read_text(errors="replace")[-1500:]
            raise LabError(f"{name} stopped while booting; console:\n{tail}")
        try:
            with socket.create_connection((ip, 22), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-"):
                    probe = ssh(
                        cfg, ip, "systemctl is-system-running --wait >/dev/null; true", known
                    )
                    if probe.returncode == 0:
                        return
                    last = probe.stderr.decode(errors="replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    if "host key verification failed" in last.lower():
        last += f" (a machine other than the new {name} answers at {ip}: run `make lab-down`)"
    raise LabError(f"{name} ({ip}) did not answer on ssh in time: {last}")


def ssh(
    cfg: Config, ip: str, command: str, known_hosts: Path
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            "ssh", "-i", str(cfg.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={known_hosts}", "-o", "LogLevel=ERROR",
            "-o", "ConnectTimeout=3", "-o", "ControlMaster=no", f"root@{ip}", command,
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip


def any_running(cfg: Config) -> bool:
    return any(read_pid(p) for p in (cfg.state / "hosts").glob("*/supervisor.pid"))


def stop_host(cfg: Config, name: str) -> None:
    """Power one machine off (used when `up` shrinks the lab) and remove its files."""
    hdir = cfg.host_dir(name)
    pid = read_pid(hdir / "supervisor.pid")
    if pid:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    mine = [p for p in lab_pids(cfg) if mentions(processes_argv(p), str(hdir))]
    for p in mine + netns_pids([name]):
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    subprocess.run(["ip", "netns", "delete", name], capture_output=True)
    for point in lab_mounts(cfg):
        if under(point, str(hdir)):
            subprocess.run(["umount", "-l", point], capture_output=True)
    shutil.rmtree(hdir, ignore_errors=True)
