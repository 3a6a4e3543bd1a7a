"""Docker engines newer than a release's own, for the lab.

- Docker 28: Debian sid's `docker.io` and `docker-cli` (28.5.2 today), resolved
  inside a chroot of the release's base tree with sid added, so that every other
  dependency comes from the release itself where it can (they install on trixie
  with trixie's containerd, runc and tini). They are kept in a flat repository of
  their own, `<release>-sid`, which a host does not use until it is added to its
  apt sources: that is how a test upgrades a node in place, as an operator who
  pulls a newer docker.io would.
- Docker 29: dockerd and docker-proxy built from moby's Go module
  (scripts/build-dockerd.sh; `make dockerd`).

Both are also packaged under Docker's names in the docker-ce stand-in
(lab/dockerce.py), so that `docker_install_method: repo` installs them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from pathlib import Path

from lab.config import Config, LabError
from lab.proc import log, run, unmount_all, write

# The releases whose hosts can run the newer engines, and what sid contributes.
SID_RELEASES = ("trixie",)
# runc: Docker 29 asks runc for a time namespace, which runc learnt in 1.2 (trixie
# has 1.1.15); Docker's own containerd.io package brings a newer runc the same way.
SID_PACKAGES = ("docker.io", "docker-cli", "runc")


def sid_repo(cfg: Config, release: str, base: Path, flat: Path) -> Path | None:
    """The flat repository `<release>-sid`: sid's docker.io and docker-cli, and those of
    their dependencies that the release's own flat repository `flat` lacks."""
    if release not in SID_RELEASES:
        return None
    out = cfg.cache / "repo" / f"{release}-sid"
    stamp = out / ".flab-complete"
    spec = hashlib.sha256(f"v3 {SID_PACKAGES} {cfg.mirror}".encode()).hexdigest()[:16]
    if stamp.exists() and stamp.read_text().strip() == spec:
        return out
    from lab.images import overlay_mount  # images imports this module

    log(f"resolving sid's {' and '.join(SID_PACKAGES)} for {release} (once)")
    started = time.monotonic()
    build = cfg.state / "build" / f"{release}-sid"
    if build.exists():
        unmount_all(cfg)
        shutil.rmtree(build)
    root = overlay_mount(base, build)
    write(
        root / "etc/apt/sources.list",
        # sid's Release file may carry a Valid-Until that the mirror lets lapse
        f"deb {cfg.mirror} {release} main\ndeb [check-valid-until=no] {cfg.mirror} sid main\n",
    )
    write(root / "etc/apt/apt.conf.d/90flab-release", f'APT::Default-Release "{release}";\n')
    # Each package at sid's version (`pkg=version`, not `pkg/sid`, which would take
    # its dependencies from sid too): the rest comes from the release where it can.
    pick = "apt-cache madison $p | awk -F'|' '$3 ~ / sid\\// {gsub(/ /, \"\", $2); print $2; exit}'"
    script = (
        "set -e; export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null; "
        f"want=; for p in {' '.join(SID_PACKAGES)}; do v=$({pick}); "
        '[ -n "$v" ] || { echo "sid has no $p" >&2; exit 1; }; want="$want $p=$v"; done; '
        "apt-get install -q -y --download-only --no-install-recommends $want >/dev/null"
    )
    try:
        run(
            [
                "systemd-nspawn", "-q", "-D", str(root), "--register=no", "--keep-unit",
                "--resolv-conf=copy-host", "--as-pid2", "/bin/sh", "-c", script,
            ]
        )  # fmt: skip
        have = {p.name for p in flat.glob("*.deb")}
        debs = [
            d for d in sorted((root / "var/cache/apt/archives").glob("*.deb")) if d.name not in have
        ]
        if not any(d.name.startswith("docker.io_") for d in debs):
            raise LabError(f"sid gave no docker.io for {release}")
        if out.exists():
            shutil.rmtree(out)
        out.mkdir(parents=True)
        for deb in debs:
            shutil.copy2(deb, out / deb.name)
    finally:
        unmount_all(cfg)
        shutil.rmtree(build, ignore_errors=True)
    write(out / "Packages", run(["dpkg-scanpackages", "--multiversion", "."], cwd=out, quiet=True))
    run(["gzip", "-9kf", "Packages"], cwd=out)
    write(out / "Release", run(["apt-ftparchive", "release", "."], cwd=out))
    stamp.write_text(spec + "\n")
    names = ", ".join(d.name for d in debs)
    log(f"repository {release}-sid: {names} in {time.monotonic() - started:.0f}s")
    return out


def moby_binaries(cache: Path) -> Path | None:
    """The directory with Docker 29's dockerd and docker-proxy: FLAB_DOCKERD (the Makefile
    sets it to what `make dockerd` builds), else the newest build under cache/dockerd."""
    env = os.environ.get("FLAB_DOCKERD")
    found = [Path(env)] if env else sorted((cache / "dockerd").glob("*"), reverse=True)
    for path in found:
        if (path / "dockerd").exists() and (path / "docker-proxy").exists():
            return path.resolve()
    return None


def engine_version(dockerd: Path) -> str:
    """The engine version a dockerd binary reports ("Docker version 29.8.1, build ...")."""
    out = run([str(dockerd), "--version"])
    words = out.split()
    if len(words) < 3 or words[:2] != ["Docker", "version"]:
        raise LabError(f"{dockerd} --version said {out.strip()!r}")
    return words[2].rstrip(",")
