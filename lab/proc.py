"""Commands, files, processes, mounts, cgroups and the lab lock: the helpers the other
lab modules share. The lab's own processes and mounts are found by its marker paths."""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from lab.config import Config, LabError

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


def processes_argv(pid: int) -> list[str]:
    try:
        return [a.decode() for a in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if a]
    except OSError:
        return []


def under(path: str, top: str) -> bool:
    """True when `path` is `top` or inside it (so /a/lab-2 is not under /a/lab)."""
    top = top.rstrip("/") or "/"
    return path.rstrip("/") == top or path.startswith(top.rstrip("/") + "/")


def mentions(argv: Sequence[str], top: str) -> bool:
    """True when an argument names `top` or a path inside it, also as in --opt=PATH:X
    and quoted, as Ansible's ssh client writes -o 'IdentityFile="PATH"'."""
    return any(under(part, top) for arg in argv for part in re.split(r"[=:,\s\"']", arg))


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


# --------------------------------------------------------------------------- cgroups


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


# --------------------------------------------------------------------------- the lab lock


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
