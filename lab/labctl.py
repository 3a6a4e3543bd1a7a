"""The flannel-ansible lab: N Debian hosts as systemd-nspawn machines on one bridge.

Every host is a real systemd machine with its own network namespace, address, sshd,
python3 and /dev/net/tun, able to run dockerd and its containers. Hosts boot from a
cached debootstrap tree (one per Debian release) through a per-host overlayfs, and
their only apt source is a flat repository served by the controller on the lab bridge.

Everything `up` makes is recorded under one state directory (default
/var/lib/flannel-lab), and every process, mount and link it makes carries a name or a
path that `down` can find again even when `up` was killed half-way.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab import dockerce

PROJECT = Path(__file__).resolve().parent.parent
RELEASES = ("bookworm", "trixie")
BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "openssh-server",
    "python3",
    "iputils-ping",
)
REBOOT_EXIT = 133  # systemd-nspawn's exit code when the machine asked to reboot
MAX_HOSTS = 40


class LabError(Exception):
    """A problem the user can act on; printed without a traceback."""


@dataclass(frozen=True)
class Config:
    """Where the lab lives and how it is addressed. Every field has an env override."""

    state: Path
    cache: Path
    cidr: ipaddress.IPv4Network
    bridge: str = "flab0"
    prefix: str = "flab"
    port: int = 8089
    mirror: str = "http://deb.debian.org/debian"
    flannel_network: ipaddress.IPv4Network = ipaddress.IPv4Network("10.244.0.0/16")
    inventory: Path = PROJECT / "inventory" / "lab" / "hosts.yml"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ if env is None else env)
        try:
            cidr = ipaddress.IPv4Network(env.get("FLAB_CIDR", "10.77.0.0/24"))
            flannel = ipaddress.IPv4Network(env.get("FLAB_FLANNEL_NETWORK", "10.244.0.0/16"))
        except ValueError as exc:
            raise LabError(f"FLAB_CIDR/FLAB_FLANNEL_NETWORK: {exc}") from exc
        if cidr.prefixlen > 26:
            raise LabError(f"FLAB_CIDR {cidr}: too small, use a /26 or larger")
        return cls(
            state=Path(env.get("FLAB_STATE", "/var/lib/flannel-lab")).resolve(),
            cache=Path(env.get("FLAB_CACHE", str(PROJECT / ".cache"))).resolve(),
            cidr=cidr,
            bridge=env.get("FLAB_BRIDGE", "flab0"),
            prefix=env.get("FLAB_PREFIX", "flab"),
            port=int(env.get("FLAB_PORT", "8089")),
            mirror=env.get("FLAB_MIRROR", "http://deb.debian.org/debian"),
            flannel_network=flannel,
            inventory=Path(env.get("FLAB_INVENTORY", str(PROJECT / "inventory/lab/hosts.yml"))),
        )

    @property
    def gateway(self) -> ipaddress.IPv4Address:
        """The controller's address on the lab bridge (serves the apt repository)."""
        return self.cidr.network_address + 1

    def host_name(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def host_ip(self, index: int) -> ipaddress.IPv4Address:
        return self.cidr.network_address + 10 + index

    def is_host(self, name: str) -> bool:
        """True for names of this lab's hosts (flab1, flab2, ...; not flab0 or flabx1)."""
        return re.fullmatch(re.escape(self.prefix) + r"[0-9]+", name) is not None

    def host_dir(self, name: str) -> Path:
        return self.state / "hosts" / name

    @property
    def key(self) -> Path:
        return self.state / "ssh" / "id_ed25519"

    @property
    def markers(self) -> tuple[str, ...]:
        """Path prefixes that identify processes and mounts belonging to the lab."""
        return (str(self.state), str(self.build_tmp))

    @property
    def build_tmp(self) -> Path:
        """Where base trees are built before they are moved into the cache."""
        return self.cache / "base" / ".tmp"


# --------------------------------------------------------------------------- helpers


def run(cmd: Sequence[str], check: bool = True, quiet: bool = False, **kw: object) -> str:
    """Run a command; return stdout. Raise LabError with stderr on failure."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, **kw)  # type: ignore[call-overload]
    if check and proc.returncode != 0:
        raise LabError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr.strip()}"
        )
    if not quiet and proc.returncode != 0:
        log(f"  (ignored) {' '.join(cmd)}: {proc.stderr.strip()}")
    return proc.stdout


def log(msg: str) -> None:
    print(f"lab: {msg}", file=sys.stderr, flush=True)


def write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.chmod(mode)
    os.replace(tmp, path)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    state = _proc_field(pid, "State")
    return not (state or "").startswith("Z")


def _proc_field(pid: int, field: str) -> str | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    except OSError:
        return None
    return None


def read_pid(path: Path) -> int | None:
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid_alive(pid) else None


# --------------------------------------------------------------------------- networks


def overlaps(cidr: ipaddress.IPv4Network, others: Iterable[str]) -> list[str]:
    """Return the entries of `others` (CIDRs or addresses) that overlap `cidr`."""
    hits = []
    for other in others:
        try:
            net = ipaddress.ip_network(other, strict=False)
        except ValueError:
            continue
        if net.version == 4 and net.prefixlen > 0 and cidr.overlaps(net):
            hits.append(str(net))
    return hits


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


def check_collisions(cfg: Config, own: list[str]) -> None:
    """Refuse a lab network that collides with the controller or the overlay."""
    problems = []
    hits = overlaps(cfg.cidr, own)
    if hits:
        problems.append(f"the controller's own networks {', '.join(sorted(set(hits)))}")
    if cfg.cidr.overlaps(cfg.flannel_network):
        problems.append(f"the flannel network {cfg.flannel_network}")
    docker_default = ipaddress.IPv4Network("172.17.0.0/16")
    if cfg.cidr.overlaps(docker_default):
        problems.append(f"Docker's default bridge {docker_default} (used inside the hosts)")
    if problems:
        raise LabError(
            f"lab network {cfg.cidr} overlaps {'; '.join(problems)}. "
            "Pick another range with FLAB_CIDR=..."
        )


# --------------------------------------------------------------------------- processes, mounts


def processes() -> Iterator[tuple[int, list[str], str]]:
    """Yield (pid, argv, root) for every process we can see."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            root = os.readlink(entry / "root")
        except OSError:
            continue
        yield pid, [a.decode(errors="replace") for a in argv if a], root


def under(path: str, top: str) -> bool:
    """True when `path` is `top` or inside it (so /a/lab-2 is not under /a/lab)."""
    top = top.rstrip("/") or "/"
    return path.rstrip("/") == top or path.startswith(top.rstrip("/") + "/")


def mentions(argv: Sequence[str], top: str) -> bool:
    """True when an argument names `top` or a path inside it, also as in --opt=PATH:X."""
    return any(under(part, top) for arg in argv for part in re.split(r"[=:,\s]", arg))


def lab_pids(cfg: Config) -> list[int]:
    """Processes that belong to the lab: by argv or by root directory under a marker path."""
    me = {os.getpid(), os.getppid()}
    found = []
    for pid, argv, root in processes():
        if pid in me:
            continue
        if any(mentions(argv, m) or (root != "/" and under(root, m)) for m in cfg.markers):
            found.append(pid)
    return found


def lab_mounts(cfg: Config) -> list[str]:
    """Mount points under the lab's marker paths, deepest first."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(under(point, m) for m in cfg.markers):
            points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"), reverse=True)


def unmount_all(cfg: Config) -> None:
    for _ in range(3):
        points = lab_mounts(cfg)
        if not points:
            return
        for point in points:
            if subprocess.run(["umount", point], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True)
    left = lab_mounts(cfg)
    if left:
        raise LabError(f"could not unmount: {', '.join(left)}")


def container_init(nspawn_pid: int) -> int | None:
    """PID (in our namespace) of the machine's init: a descendant whose NSpid ends in 1."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _proc_field(int(entry.name), "PPid")
            if ppid:
                children.setdefault(int(ppid), []).append(int(entry.name))
    todo = list(children.get(nspawn_pid, []))
    while todo:
        pid = todo.pop(0)
        nspid = (_proc_field(pid, "NSpid") or "").split()
        if len(nspid) > 1 and nspid[-1] == "1":
            return pid
        todo.extend(children.get(pid, []))
    return None


# --------------------------------------------------------------------------- images and packages


def packages_wanted() -> list[str]:
    text = (PROJECT / "lab" / "packages.txt").read_text()
    return sorted({w for line in text.splitlines() for w in line.split("#", 1)[0].split()})


def base_tree(cfg: Config, release: str) -> Path:
    """The cached debootstrap tree for `release`; build it once."""
    tree = cfg.cache / "base" / release
    if (tree / ".flab-complete").exists():
        return tree
    tmp = cfg.build_tmp / release
    unmount_all(cfg)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    log(f"building the {release} base tree with debootstrap (once per release)")
    started = time.monotonic()
    cmd = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(BASE_PACKAGES)}",
        release,
        str(tmp),
        cfg.mirror,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise LabError(f"debootstrap {release} failed:\n{tail}\n{proc.stderr[-2000:]}")
    prepare_base(tmp)
    (tmp / ".flab-complete").write_text(f"{release}\n")
    if tree.exists():
        shutil.rmtree(tree)
    tmp.rename(tree)
    log(f"base tree {release} ready in {time.monotonic() - started:.0f}s")
    return tree


def prepare_base(root: Path) -> None:
    """Make a fresh debootstrap tree bootable as a lab host (per-host files come later)."""
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    write(root / "etc" / "machine-id", "")
    write(root / "etc" / "fstab", "# lab host: no mounts of its own\n")
    # No gettys (nobody logs in on the console), no networkd (flab-net.service sets the
    # address) and no modules-load: lab kernels have their modules built in and hosts
    # have no /lib/modules, so it would only leave every host "degraded".
    units = (
        "console-getty.service",
        "getty@tty1.service",
        "systemd-networkd.service",
        "systemd-modules-load.service",
    )
    for unit in units:
        link = root / "etc" / "systemd" / "system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    dropin = root / "etc" / "ssh" / "sshd_config.d" / "flab.conf"
    write(dropin, "PermitRootLogin prohibit-password\nUseDNS no\n")
    shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)
    (root / "var" / "cache" / "apt" / "archives" / "partial").mkdir(parents=True)
    for lists in (root / "var" / "lib" / "apt" / "lists").glob("*_*"):
        lists.unlink()


def repo(cfg: Config, release: str, base: Path) -> Path:
    """The flat apt repository of everything the roles install, for `release`."""
    wanted = packages_wanted()
    digest = hashlib.sha256(" ".join(wanted).encode()).hexdigest()[:16]
    out = cfg.cache / "repo" / release
    stamp = out / ".flab-complete"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return out
    log(f"resolving and downloading {len(wanted)} packages for {release} (once per package list)")
    started = time.monotonic()
    build = cfg.state / "build" / release
    if build.exists():
        unmount_all(cfg)
        shutil.rmtree(build)
    root = overlay_mount(base, build)
    script = (
        "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; "
        f"apt-get install -q -y --download-only {' '.join(wanted)} >/dev/null"
    )
    try:
        run(
            [
                "systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
                "--resolv-conf=copy-host", "--as-pid2", "/bin/sh", "-c", script,
            ]
        )  # fmt: skip
        debs = sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb"))
        if not debs:
            raise LabError(f"no packages were downloaded for {release}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for deb in debs:
            shutil.copy2(deb, out / deb.name)
    finally:
        unmount_all(cfg)
        shutil.rmtree(build, ignore_errors=True)
    packages = run(["dpkg-scanpackages", "--multiversion", "."], cwd=out, quiet=True)
    write(out / "Packages", packages)
    run(["gzip", "-9kf", "Packages"], cwd=out)
    release_text = run(["apt-ftparchive", "release", "."], cwd=out)
    write(out / "Release", release_text)
    stamp.write_text(digest + "\n")
    log(f"repository {release}: {len(debs)} packages in {time.monotonic() - started:.0f}s")
    return out


def docker_repo(cfg: Config, release: str, flat: Path) -> Path:
    """The signed stand-in of Docker's apt repository (lab/dockerce.py) for `release`."""
    try:
        return dockerce.build(
            cfg.cache / "repo" / "docker", cfg.cache / "docker-gnupg", release, flat
        )
    except dockerce.RepoError as exc:
        raise LabError(f"docker-ce stand-in repository: {exc}") from exc


def docker_repo_record(cfg: Config) -> dict[str, str]:
    """Where the docker-ce stand-in is served, and its keys' fingerprints."""
    keys = dockerce.fingerprints(cfg.cache / "repo" / "docker")
    return {
        "url": f"http://{cfg.gateway}:{cfg.port}/docker/linux",
        "key_fingerprint": keys["key"],
        "wrong_key_fingerprint": keys["wrong_key"],
    }


def overlay_mount(lower: Path, where: Path) -> Path:
    """Mount lower + a writable upper at where/root; return the merged root."""
    upper, work, merged = where / "upper", where / "work", where / "root"
    for d in (upper, work, merged):
        d.mkdir(parents=True, exist_ok=True)
    if not os.path.ismount(merged):
        opts = f"lowerdir={lower},upperdir={upper},workdir={work}"
        run(["mount", "-t", "overlay", "overlay", "-o", opts, str(merged)])
    return merged


# --------------------------------------------------------------------------- hosts


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


def cgroup_roots() -> list[Path]:
    """Mount points of the cgroup2 hierarchy and of a v1 name=systemd one, if present."""
    roots = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, _, right = line.partition(" - ")
        fstype, _, opts = (right.split() + ["", "", ""])[:3]
        if fstype == "cgroup2" or (fstype == "cgroup" and "name=systemd" in opts):
            roots.append(Path(left.split()[4]))
    return roots


def lab_cgroups(cfg: Config) -> list[Path]:
    """The lab's cgroup directories (one per hierarchy), named after the state dir."""
    return [root / cfg.state.name for root in cgroup_roots()]


def join_cgroup(cfg: Config, name: str) -> None:
    """Move this process into a cgroup of the machine's own.

    nspawn with --keep-unit puts the machine under the caller's cgroup. Machines started
    from the same cgroup would share one tree and trip over each other's units (systemd
    fails units "at step CGROUP"), so every machine gets its own.
    """
    for top in lab_cgroups(cfg):
        path = top / name
        path.mkdir(parents=True, exist_ok=True)
        (path / "cgroup.procs").write_text(f"{os.getpid()}\n")


def remove_cgroups(cfg: Config) -> None:
    for top in lab_cgroups(cfg):
        if top.exists():
            dirs = sorted((d for d in top.rglob("*") if d.is_dir()), key=lambda d: -len(d.parts))
            for d in [*dirs, top]:
                with contextlib.suppress(OSError):
                    d.rmdir()


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
    name, ip = cfg.host_name(index), str(cfg.host_ip(index))
    last = ""
    while time.monotonic() < deadline:
        if read_pid(cfg.host_dir(name) / "supervisor.pid") is None:
            tail = (cfg.host_dir(name) / "console.log").read_text(errors="replace")[-1500:]
            raise LabError(f"{name} stopped while booting; console:\n{tail}")
        try:
            with socket.create_connection((ip, 22), timeout=1) as sock:
                sock.settimeout(2)
                if sock.recv(64).startswith(b"SSH-"):
                    probe = ssh(cfg, ip, "systemctl is-system-running --wait >/dev/null; true")
                    if probe.returncode == 0:
                        return
                    last = probe.stderr.decode(errors="replace")
        except OSError as exc:
            last = str(exc)
        time.sleep(0.3)
    raise LabError(f"{name} ({ip}) did not answer on ssh in time: {last}")


def ssh(cfg: Config, ip: str, command: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            "ssh", "-i", str(cfg.key), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=3",
            f"root@{ip}", command,
        ],
        capture_output=True,
        timeout=120,
    )  # fmt: skip


# --------------------------------------------------------------------------- bridge and repo server


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


def serve(directory: Path, bind: str, port: int) -> None:
    """Serve the apt repositories read-only over HTTP (runs as a detached process)."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    with http.server.ThreadingHTTPServer((bind, port), handler) as httpd:
        httpd.serve_forever()


def ensure_server(cfg: Config) -> None:
    pidfile = cfg.state / "http.pid"
    if read_pid(pidfile):
        return
    # Serve through a link in the state dir, so the server's argv names the state dir
    # and `down` finds it even without the pid file.
    repo_root = cfg.state / "repo"
    if not repo_root.is_symlink():
        repo_root.symlink_to(cfg.cache / "repo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "_serve", str(repo_root), str(cfg.gateway), str(cfg.port)],
        cwd=PROJECT,
        env=dict(os.environ, PYTHONPATH=str(PROJECT), FLAB_STATE=str(cfg.state)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(cfg.state / "http.log", "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    pidfile.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection((str(cfg.gateway), cfg.port), timeout=1),
        ):
            return
        if proc.poll() is not None:
            raise LabError(
                f"apt repository server on {cfg.gateway}:{cfg.port} exited: "
                + (cfg.state / "http.log").read_text()[-500:]
            )
        time.sleep(0.2)
    raise LabError(f"apt repository server on {cfg.gateway}:{cfg.port} did not start")


# --------------------------------------------------------------------------- inventory


def inventory_text(cfg: Config, release: str, count: int, flanneld: Path | None) -> str:
    etcd = [cfg.host_name(i) for i in range(1, min(3, count) + 1)]
    nodes = [cfg.host_name(i) for i in range(1, count + 1)]
    lines = [
        "# Generated by `python -m lab up` (make lab-up). Do not edit: `up` rewrites it.",
        "---",
        "all:",
        "  vars:",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: {cfg.key}",
        "    ansible_ssh_common_args: >-",
        "      -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        "    ansible_python_interpreter: /usr/bin/python3",
        f"    lab_cidr: {cfg.cidr}",
        f"    lab_release: {release}",
    ]
    if flanneld:
        lines.append(f"    flannel_binary_src: {flanneld}")
    docker = docker_repo_record(cfg)
    lines += [
        "    # the signed stand-in of Docker's apt repository (lab/dockerce.py)",
        f"    lab_docker_repo_url: {docker['url']}",
        f'    lab_docker_key_fingerprint: "{docker["key_fingerprint"]}"',
        f'    lab_docker_wrong_key_fingerprint: "{docker["wrong_key_fingerprint"]}"',
    ]
    lines += ["  hosts:"]
    for i in range(1, count + 1):
        lines += [f"    {cfg.host_name(i)}:", f"      ansible_host: {cfg.host_ip(i)}"]
    lines += ["  children:", "    etcd:", "      hosts:"]
    lines += [f"        {h}: {{}}" for h in etcd]
    lines += ["    nodes:", "      hosts:"]
    lines += [f"        {h}: {{}}" for h in nodes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- commands


def load_state(cfg: Config) -> dict[str, object]:
    try:
        return json.loads((cfg.state / "lab.json").read_text())
    except (OSError, ValueError):
        return {}


def pinned_flannel_version() -> str:
    """The flanneld version pinned in the flannel role's defaults (one place for the pin)."""
    text = (PROJECT / "roles" / "flannel" / "defaults" / "main.yml").read_text()
    for line in text.splitlines():
        if line.startswith("flannel_version:"):
            return line.split(":", 1)[1].strip().strip("\"'")
    raise LabError("flannel_version is missing from roles/flannel/defaults/main.yml")


def default_flanneld(cfg: Config) -> Path | None:
    """FLAB_FLANNELD, else the binary `make flanneld` builds for the pinned version."""
    env = os.environ.get("FLAB_FLANNELD")
    path = Path(env) if env else cfg.cache / "flanneld" / pinned_flannel_version() / "flanneld"
    return path.resolve() if path.exists() else None


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
    docker_repo(cfg, release, repo(cfg, release, base))
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


def processes_argv(pid: int) -> list[str]:
    try:
        return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


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
    # 2. Anything left (a killed `up`, a hung machine, ssh masters, the repo server): kill.
    #    Machines whose nspawn died are found through their named network namespaces.
    names = lab_netns(cfg)
    for _ in range(5):
        pids = lab_pids(cfg) + netns_pids(names)
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


def lock_lab(cfg: Config, kill_holder: bool) -> None:
    """One `up` or `down` at a time. `down` first kills an `up` that holds the lock."""
    lockfile = cfg.state.parent / f".{cfg.state.name}.lock"
    lockfile.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lockfile, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        up_pid = read_pid(cfg.state / "up.pid")
        if kill_holder and up_pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(up_pid, signal.SIGKILL)
        log(f"waiting for another lab command to finish ({lockfile})")
        fcntl.flock(fd, fcntl.LOCK_EX)
    # The descriptor stays open (and the lock held) until this process exits.


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="create or reconcile the lab (idempotent)")
    p_up.add_argument("--hosts", type=int, default=3)
    p_up.add_argument("--release", default="trixie", choices=RELEASES)
    p_up.add_argument("--flanneld", type=Path, help="flanneld binary handed to the roles")
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
