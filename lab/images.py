"""What the hosts are made of: the cached debootstrap base trees (one per release),
the flat apt repository of everything the roles install, the docker-ce stand-in
(lab/dockerce.py) and the flanneld binary handed to the roles."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from lab import dockerce, engines
from lab.config import PROJECT, Config, LabError
from lab.proc import log, run, unmount_all, write

BASE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "openssh-server",
    "python3",
    "iputils-ping",
)


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


def docker_repo(cfg: Config, release: str, base: Path, flat: Path) -> Path:
    """The signed stand-in of Docker's apt repository (lab/dockerce.py) for `release`,
    with the newer engines of lab/engines.py where the release runs them."""
    sid = engines.sid_repo(cfg, release, base, flat)
    binaries = engines.moby_binaries(cfg.cache) if sid else None
    moby = (binaries, engines.engine_version(binaries / "dockerd")) if binaries else None
    try:
        return dockerce.build(
            cfg.cache / "repo" / "docker", cfg.cache / "docker-gnupg", release, flat, sid, moby
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
