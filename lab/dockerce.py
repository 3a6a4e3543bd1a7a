"""A signed apt repository in the shape of download.docker.com, for the lab.

The lab has no route to Docker's servers, so `docker_install_method: repo` is
proven against this stand-in instead. It has what the role meets at Docker:

- `linux/debian/gpg`: the ASCII-armoured signing key (its own key, made here);
- `linux/debian/dists/<release>/InRelease` and `Release.gpg`, signed with it;
- component `stable`, packages `docker-ce`, `docker-ce-cli` (two versions each,
  epoch 5 as Docker numbers them) and `containerd.io`.

The packages are stand-ins, because the real docker-ce cannot be built offline:
`docker-ce` is Debian's `docker.io` (from the lab's flat repository) repackaged
under Docker's name and version, with `Conflicts`/`Replaces: docker.io` as the
real one has; `docker-ce-cli` is Debian's `docker-cli` repackaged the same way
(empty where docker.io still carries the CLI, as on bookworm); `containerd.io`
is empty. On trixie the repository also carries the engines operators install
today (lab/engines.py): `docker-ce` 28.5.2 is Debian sid's `docker.io` and
`docker-ce-cli` 28.5.2 sid's `docker-cli`, repackaged the same way; `docker-ce`
29.8.1 is the release's `docker.io` package with its dockerd and docker-proxy
replaced by the ones built from moby's Go module (scripts/build-dockerd.sh), and
its `docker-ce-cli` is sid's docker-cli (the newest Debian CLI; Docker 29 still
serves its API version). The version of each is the one its binaries report.
A second key, `linux/debian/wrong-key.gpg`, signs nothing: pointing
the role at it must fail. `<key>.fpr` files hold the fingerprints. The private
keys stay in a GnuPG home outside the served tree.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

DEBIAN_NUMBERS = {"bookworm": "12", "trixie": "13"}
DOCKER_VERSIONS = ("26.1.5", "27.3.1")
CONTAINERD_VERSION = "1.7.22-1"
# Bump to rebuild a release's packages (layout or packaging changed).
SPEC = f"docker-ce stand-in v5 {DOCKER_VERSIONS} {CONTAINERD_VERSION}"
# Where Debian's docker.io keeps the daemon's binaries (replaced for the moby build).
MOBY_FILES = ("usr/sbin/dockerd", "usr/sbin/docker-proxy")
# Debian package repackaged under Docker's name, and what it conflicts with/replaces.
REPACK = {"docker-ce": "docker.io", "docker-ce-cli": "docker-cli"}
DROP_FIELDS = ("Conflicts", "Replaces", "Breaks", "Provides", "Recommends", "Built-Using")


class RepoError(Exception):
    """The repository could not be built; the message says which step failed."""


def _run(cmd: Sequence[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=cwd, env=env)
    if proc.returncode != 0:
        raise RepoError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return proc.stdout


def full_version(version: str, release: str) -> str:
    """Docker's numbering: 5:27.3.1-1~debian.13~trixie."""
    return f"5:{version}-1~debian.{DEBIAN_NUMBERS[release]}~{release}"


def parse_control(text: str) -> list[tuple[str, str]]:
    """Fields of a DEBIAN/control file in order, continuation lines kept in the value."""
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + "\n" + line)
        elif ":" in line:
            key, value = line.split(":", 1)
            fields.append((key, value.strip()))
    return fields


def repacked_control(text: str, package: str, version: str, replaces: str) -> str:
    """The control of `replaces`, renamed to `package` at `version`, conflicting with it."""
    out = []
    for key, value in parse_control(text):
        if key in DROP_FIELDS:
            continue
        if key == "Package":
            value = package
        elif key == "Version":
            value = version
        elif key == "Source":
            continue
        elif key == "Description":
            first, _, rest = value.partition("\n")
            value = f"{first} (flannel-ansible lab stand-in for Docker's {package})" + (
                "\n" + rest if rest else ""
            )
        out.append(f"{key}: {value}")
    out += [f"Conflicts: {replaces}", f"Replaces: {replaces}"]
    return "\n".join(out) + "\n"


def empty_control(package: str, version: str) -> str:
    return (
        f"Package: {package}\nVersion: {version}\nArchitecture: all\n"
        "Maintainer: flannel-ansible lab <lab@invalid>\nSection: admin\nPriority: optional\n"
        f"Description: flannel-ansible lab stand-in for Docker's {package} (empty)\n"
        " Built by the flannel-ansible lab, which has no route to download.docker.com.\n"
    )


def build_deb(
    control: str, source: Path | None, pool: Path, work: Path, binaries: Path | None = None
) -> Path:
    """A .deb from control, with the files (and scripts) of source when given, and the
    daemon binaries (MOBY_FILES) taken from the directory binaries when given."""
    fields = dict(parse_control(control))
    root = work / f"{fields['Package']}-{fields['Version'].replace(':', '_')}"
    if source:
        _run(["dpkg-deb", "-R", str(source), str(root)])
        for rel in MOBY_FILES if binaries else ():
            if not (root / rel).exists():
                raise RepoError(f"{source.name} has no {rel} to replace")
            shutil.copy2(binaries / Path(rel).name, root / rel)
        if binaries:
            # the CLI's manual pages, which the newer docker-ce-cli carries itself
            shutil.rmtree(root / "usr" / "share" / "man", ignore_errors=True)
            (root / "DEBIAN" / "md5sums").unlink(missing_ok=True)
    else:
        doc = root / "usr" / "share" / "doc" / fields["Package"]
        doc.mkdir(parents=True)
        (doc / "README.flannel-lab").write_text("A stand-in package of the flannel-ansible lab.\n")
    (root / "DEBIAN").mkdir(exist_ok=True)
    (root / "DEBIAN" / "control").write_text(control)
    upstream = fields["Version"].split(":", 1)[-1]
    deb = pool / f"{fields['Package']}_{upstream}_{fields['Architecture']}.deb"
    _run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", str(root), str(deb)])
    shutil.rmtree(root)
    return deb


def _gpg(home: Path, *args: str) -> str:
    env = dict(os.environ, GNUPGHOME=str(home))
    return _run(["gpg", "--batch", "--quiet", "--pinentry-mode", "loopback", *args], env=env)


def _stop_agent(home: Path) -> None:
    subprocess.run(
        ["gpgconf", "--kill", "all"], env=dict(os.environ, GNUPGHOME=str(home)), capture_output=True
    )


def key_fingerprint(home: Path, uid: str) -> str | None:
    proc = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--list-keys", uid],
        capture_output=True, text=True, env=dict(os.environ, GNUPGHOME=str(home)),
    )  # fmt: skip
    for line in proc.stdout.splitlines():
        if line.startswith("fpr:"):
            return line.split(":")[9]
    return None


def ensure_keys(home: Path, debian: Path) -> dict[str, str]:
    """The signing key and the wrong key (made once), exported under debian/."""
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = {}
    for name, uid in (("gpg", "flab Docker CE <lab-docker@invalid>"),
                      ("wrong-key.gpg", "flab wrong key <lab-wrong@invalid>")):  # fmt: skip
        fpr = key_fingerprint(home, uid)
        if not fpr:
            _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
            fpr = key_fingerprint(home, uid)
        if not fpr:
            raise RepoError(f"gpg made no key for {uid!r}")
        (debian / name).write_text(_gpg(home, "--armor", "--export", fpr))
        (debian / f"{name}.fpr").write_text(fpr + "\n")
        keys[name] = fpr
    return keys


def sign_release(home: Path, fpr: str, dist: Path, release: str) -> None:
    opts = {
        "Origin": "Docker",
        "Label": "Docker CE",
        "Suite": release,
        "Codename": release,
        "Architectures": "amd64",
        "Components": "stable",
        "Description": "flannel-ansible lab stand-in for Docker CE",
    }
    cmd = ["apt-ftparchive"]
    for key, value in opts.items():
        cmd += ["-o", f"APT::FTPArchive::Release::{key}={value}"]
    (dist / "Release").write_text(_run([*cmd, "release", "."], cwd=dist))
    common = ["--yes", "--digest-algo", "SHA512", "--local-user", fpr]
    _gpg(home, *common, "--clearsign", "--output", str(dist / "InRelease"), str(dist / "Release"))
    _gpg(home, *common, "--armor", "--detach-sign", "--output", str(dist / "Release.gpg"),
         str(dist / "Release"))  # fmt: skip


def repack(source: Path, package: str, full: str, debian_name: str, pool: Path, work: Path,
           binaries: Path | None = None) -> Path:  # fmt: skip
    """source (a Debian .deb) as Docker's `package` at version `full`; with binaries,
    its dockerd and docker-proxy replaced by the ones in that directory (which also
    need a runc with time namespaces, 1.2 or later)."""
    control = repacked_control(_run(["dpkg-deb", "-f", str(source)]), package, full, debian_name)
    if binaries:
        control = control.replace("\nDepends: ", "\nDepends: runc (>= 1.2~), ", 1)
    return build_deb(control, source, pool, work, binaries)


def newest(directory: Path | None, name: str) -> Path | None:
    found = sorted(directory.glob(f"{name}_*.deb")) if directory else []
    return found[-1] if found else None


def release_packages(
    release: str, flat: Path, pool: Path, work: Path,
    sid: Path | None = None, moby: tuple[Path, str] | None = None,
) -> list[Path]:  # fmt: skip
    """Build every stand-in .deb of one release into pool, from the flat repository flat
    (and, where given, sid's docker packages and the moby binaries with their version)."""
    debs = []
    for version in DOCKER_VERSIONS:
        full = full_version(version, release)
        for package, debian_name in REPACK.items():
            source = newest(flat, debian_name)
            if package == "docker-ce" and not source:
                raise RepoError(f"{flat} has no {debian_name} package to repackage")
            if source:
                debs.append(repack(source, package, full, debian_name, pool, work))
            else:
                debs.append(build_deb(empty_control(package, full), None, pool, work))
    sid_engine, sid_cli = newest(sid, "docker.io"), newest(sid, "docker-cli")
    if sid_engine and sid_cli:
        version = sid_engine.name.split("_")[1].split("+")[0]
        full = full_version(version, release)
        debs.append(repack(sid_engine, "docker-ce", full, "docker.io", pool, work))
        debs.append(repack(sid_cli, "docker-ce-cli", full, "docker-cli", pool, work))
        # what else sid's docker.io needs that the release lacks (tini-static), and
        # sid's runc, as they are
        for extra in sorted(sid.glob("*.deb")) if sid else ():
            if not extra.name.startswith(("docker.io_", "docker-cli_")):
                debs.append(Path(shutil.copy2(extra, pool / extra.name)))
    if moby and sid_cli:
        binaries, version = moby
        full = full_version(version, release)
        engine = newest(flat, "docker.io")
        debs.append(repack(engine, "docker-ce", full, "docker.io", pool, work, binaries))
        debs.append(repack(sid_cli, "docker-ce-cli", full, "docker-cli", pool, work))
    debs.append(build_deb(empty_control("containerd.io", CONTAINERD_VERSION), None, pool, work))
    return debs


def build(
    out: Path, home: Path, release: str, flat: Path,
    sid: Path | None = None, moby: tuple[Path, str] | None = None,
) -> Path:  # fmt: skip
    """Build (once per SPEC and source packages) `release` of the repository under out.

    out: the served directory; home: the GnuPG home with the private keys (not
    served); flat: the lab's flat repository of `release`, with docker.io in it;
    sid: the flat repository of sid's docker.io and docker-cli (lab/engines.py);
    moby: the directory of Docker 29's dockerd and docker-proxy, and its version.
    """
    sources = sorted(
        p.name
        for d in (flat, sid)
        if d
        for name in REPACK.values()
        for p in d.glob(f"{name}_*.deb")
    )
    if moby:
        stat = (moby[0] / "dockerd").stat()
        sources.append(f"moby {moby[1]} {stat.st_size} {stat.st_mtime_ns}")
    digest = hashlib.sha256(f"{SPEC} {release} {sources}".encode()).hexdigest()[:16]
    stamp = out / f".flab-complete-{release}"
    if stamp.exists() and stamp.read_text().strip() == digest:
        return out
    for tool in ("gpg", "gpgconf", "dpkg-deb", "dpkg-scanpackages", "apt-ftparchive"):
        if not shutil.which(tool):
            raise RepoError(f"{tool} is missing: run `make setup` (scripts/host-deps.sh)")
    debian = out / "linux" / "debian"
    pool = debian / "pool" / release / "stable"
    dist = debian / "dists" / release
    for old in (pool, dist):
        shutil.rmtree(old, ignore_errors=True)
    pool.mkdir(parents=True)
    binary = dist / "stable" / "binary-amd64"
    binary.mkdir(parents=True)
    try:
        keys = ensure_keys(home, debian)
        with tempfile.TemporaryDirectory(prefix="flab-dockerce-") as tmp:
            release_packages(release, flat, pool, Path(tmp), sid, moby)
        index = _run(["dpkg-scanpackages", "--multiversion", f"pool/{release}"], cwd=debian)
        (binary / "Packages").write_text(index)
        _run(["gzip", "-9kf", "Packages"], cwd=binary)
        sign_release(home, keys["gpg"], dist, release)
    finally:
        _stop_agent(home)
    stamp.write_text(digest + "\n")
    return out


def fingerprints(out: Path) -> dict[str, str]:
    """The fingerprints of the repository's key and of the wrong key ('' if not built)."""
    debian = out / "linux" / "debian"
    found = {}
    for var, name in (("key", "gpg"), ("wrong_key", "wrong-key.gpg")):
        path = debian / f"{name}.fpr"
        found[var] = path.read_text().strip() if path.exists() else ""
    return found
