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


def stat_path(path: str) -> dict[str, Any]:
    """What a path is: type, mode, owner and group names, and a file's sha256."""
    try:
        st = os.stat(path)  # follows links, as host_files does
    except FileNotFoundError:
        return dict(ABSENT)
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
        with open(path, "rb") as handle:
            out["sha256"] = hashlib.sha256(handle.read()).hexdigest()
    return out


def stat_paths(paths: Iterable[str]) -> dict[str, dict[str, Any]]:
    return {path: stat_path(path) for path in paths}


def packages_missing(names: Sequence[str]) -> list[str] | None:
    """The packages of ``names`` that dpkg does not have installed; None without dpkg."""
    if not names:
        return []
    argv = ["dpkg-query", "-W", "-f=${Package} ${db:Status-Status}\\n", *names]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return None
    installed = set()
    for line in proc.stdout.splitlines():
        name, _, status = line.partition(" ")
        if status.strip() == "installed":
            installed.add(name.split(":")[0])
    return [n for n in names if n.split("=")[0].split(":")[0] not in installed]


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
