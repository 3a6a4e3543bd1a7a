"""Read a host's files and packages once, then write only what differs.

The roles' state modules (library/etcd_state.py, ...) call ``stat_paths`` and
``packages_missing`` on the host, in the round trip they make anyway. On the
controller, the ``host_files_pending`` filter compares the entries a
``host_files`` call would apply with what was read (``pending``), so a
converged host gets no write call at all. The rule of what "differs" is the
same as host_files' own: the content's bytes, the mode, the owner and the group.

Stdlib only: it runs inside Ansible modules on the host, in a filter on the
controller, and in unit tests.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import stat
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

ABSENT = {"type": "absent"}


def _name(lookup: Any, ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)


# Digests (hex) by algorithm and file identity: (device, inode, size, mtime, ctime). One
# module call often names a file twice (a link and its target, or a path read both for
# its state and for the applied-state record); flanneld's 40 MB binary was read three
# times per call. The release_install_digest filter hashes controller files through it.
_DIGESTS: dict[tuple[str, int, int, int, int, int], str] = {}


def file_digest(path: str, algorithm: str = "sha256") -> str:
    """A file's digest (hex, any hashlib algorithm), read once per process and file
    version: a file rewritten since (another size, mtime or ctime) is read again. Raises
    OSError (FileNotFoundError when there is no such file), ValueError for an unknown
    algorithm."""
    with open(path, "rb") as handle:
        st = os.fstat(handle.fileno())
        key = (algorithm, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
        if key not in _DIGESTS:
            digest = hashlib.new(algorithm)
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
            _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def file_sha256(path: str) -> str:
    """file_digest with sha256, the digest the roles record and compare."""
    return file_digest(path, "sha256")


def stat_path(path: str) -> dict[str, Any]:
    """What a path is: type, mode, owner and group names, a file's sha256, and for a
    symlink its target (``link``; the rest describes what it points to)."""
    link = os.readlink(path) if os.path.islink(path) else None
    try:
        st = os.stat(path)  # follows links, as host_files does
    except FileNotFoundError:
        return dict(ABSENT, link=link) if link is not None else dict(ABSENT)
    if stat.S_ISDIR(st.st_mode):
        kind = "directory"
    elif stat.S_ISREG(st.st_mode):
        kind = "file"
    else:
        kind = "other"
    out = {
        "type": kind,
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
        "owner": _name(pwd.getpwuid, st.st_uid),
        "group": _name(grp.getgrgid, st.st_gid),
    }
    if kind == "file":
        out["sha256"] = file_sha256(path)
    if link is not None:
        out["link"] = link
    return out


def stat_paths(paths: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {path: stat_path(path) for path in paths}


def _bare(name: str) -> str:
    """A package name without its version pin (``=1.2*``) and architecture (``:amd64``)."""
    return name.split("=", 1)[0].split(":", 1)[0]


def _pin_matches(pin: str, version: str) -> bool:
    """apt's ``name=version`` pin: the exact version, or a prefix when it ends in ``*``."""
    return version.startswith(pin[:-1]) if pin.endswith("*") else version == pin


def packages_missing(names: Sequence[str]) -> list[str] | None:
    """The packages of ``names`` that dpkg does not have installed; None without dpkg.

    A name may carry a version pin (``docker-ce=5:27.3.1*``): it counts as installed only
    with a matching version.
    """
    if not names:
        return []
    bare = sorted({_bare(n) for n in names})
    argv = ["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Status}\\n", *bare]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    installed: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[2] == "installed":
            installed[fields[0].split(":", 1)[0]] = fields[1]
    missing = []
    for name in names:
        version = installed.get(_bare(name))
        pin = name.split("=", 1)[1] if "=" in name else None
        if version is None or (pin is not None and not _pin_matches(pin, version)):
            missing.append(name)
    return missing


def _wanted_bytes(entry: Mapping[str, Any]) -> bytes:
    secret = entry.get("secret_content")
    text = entry.get("content") if secret is None else secret
    return str(text if text is not None else "").encode("utf-8")


def differs(entry: Mapping[str, Any], seen: Mapping[str, Any] | None) -> bool:
    """Whether host_files would change this entry, given what was read of its path."""
    if not seen or seen.get("type") == "absent":
        return True
    kind = entry.get("state") or "file"
    if seen.get("type") != kind:
        return True
    if str(seen.get("mode")) != f"{int(str(entry['mode']), 8):04o}":
        return True
    if seen.get("owner") != entry.get("owner", "root"):
        return True
    if seen.get("group") != entry.get("group", "root"):
        return True
    if kind == "file":
        return seen.get("sha256") != hashlib.sha256(_wanted_bytes(entry)).hexdigest()
    return False


def pending(
    entries: Sequence[Mapping[str, Any]], observed: Mapping[str, Mapping[str, Any]] | None
) -> list[Mapping[str, Any]]:
    """The entries that differ from what was read; every entry when nothing was read.

    A kept directory exists, so the files under it that differ can be written alone.
    """
    if observed is None:
        return list(entries)
    return [e for e in entries if differs(e, observed.get(str(e["path"])))]


def release_paths(plan: Mapping[str, Any]) -> list[str]:
    """The paths ``release_gap`` needs described, for a release_install plan."""
    paths = [str(plan["version_dir"]), str(plan["fetch_dest"])]
    if plan.get("creates"):
        paths.append(str(plan["creates"]))
    for link in plan.get("links") or []:
        paths += [str(link["src"]), str(link["dest"])]
    return paths


def release_gap(
    plan: Mapping[str, Any],
    observed: Mapping[str, Mapping[str, Any]],
    digest_of: Any = None,
) -> str | None:
    """The first thing of a release install that is not in place, "" when it all is, or
    None when ``observed`` lacks a path it needs (then the caller asks the host).

    ``plan`` has version_dir, fetch_dest, mode (octal text), digest (hex), creates (or
    ""), links [{src, dest}]; ``digest_of(path)`` gives a file's digest in the plan's
    algorithm (default: the sha256 that was read).
    """
    if any(path not in observed for path in release_paths(plan)):
        return None

    def seen(path: str) -> Mapping[str, Any]:
        return observed[path]

    if seen(plan["version_dir"]).get("type") != "directory":
        return f"no directory {plan['version_dir']}"
    dest = str(plan["fetch_dest"])
    info = seen(dest)
    if info.get("type") != "file":
        return f"no {dest}"
    wanted_mode = f"{int(str(plan['mode']), 8):04o}"
    owned = info.get("owner") == "root" and info.get("group") == "root"
    if info.get("mode") != wanted_mode or not owned:
        return f"{dest} has another mode or owner"
    digest = digest_of(dest) if digest_of else info.get("sha256")
    if digest is None:
        return None
    if str(digest).lower() != str(plan["digest"]).lower():
        return f"{dest} has another digest"
    if plan.get("creates") and seen(plan["creates"]).get("type") == "absent":
        return f"no {plan['creates']}"
    for link in plan.get("links") or []:
        src, target = str(link["src"]), str(link["dest"])
        if seen(src).get("type") == "absent":
            return f"no {src}"
        if seen(target).get("link") != src:
            return f"{target} is not a link to {src}"
    return ""
