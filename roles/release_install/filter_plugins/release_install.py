"""What the release_install role does with a release artifact, worked out once.

``spec | release_install_plan``
    ``spec`` holds the role's settings without their prefix (name, version, format,
    src, url, checksum, dir, file, strip, programs, bin_dir). The plan is a dict:

    ``problems``     what is wrong with the spec (empty: go ahead), each naming the
                     caller's setting through ``name``;
    ``version_dir``  ``<dir>/<version>``, one directory per version;
    ``fetch_from``   ``src`` (a controller file) or ``url``;
    ``fetch_dest``   where the fetched file goes on the host: the archive beside
                     the version directories, or the program itself inside it;
    ``unpack``       whether it is an archive to unpack into ``version_dir``;
    ``creates``      the file whose presence means the version is unpacked;
    ``checksum_algorithm`` / ``checksum_value``  the split ``algo:hex`` ("" when none);
    ``links``        ``[{name, src, dest}]``: each program in the version directory
                     and its link in ``bin_dir``.

``check | release_install_gap(observed)``
    ``check`` is what the release_state module takes (version_dir, fetch_dest, mode,
    digest, creates, links); ``observed`` a caller's read of the host (host_read's
    ``paths``). "" when the release is in place, the first gap, or None when the read
    lacks a path (then release_state asks the host).

``path | release_install_digest(algorithm)``
    the hex digest of a controller file (sha256 by default), for the converged
    check of a release copied from the controller without a checksum; kept by the
    file's path and identity (device, inode, size, mtime, ctime) in the process and
    in ~/.cache/flannel-ansible/release-digests.json, so an unchanged file is hashed
    once, not once per host and run.

Every etcd archive and flanneld binary install goes through it (roles/etcd,
roles/flannel), so both keep one layout: a version is a new directory and new links.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import posixpath
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# The check of an install against a read of the host is module_utils/flannel_host_read.py's
# release_gap, which the release_state module runs on the host too.
try:
    from ..module_utils import flannel_host_read as _host_read
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "module_utils"))
    import flannel_host_read as _host_read  # type: ignore[no-redef]

FORMATS = ("archive", "binary")
ALGORITHMS = ("sha1", "sha224", "sha256", "sha384", "sha512")
_CHECKSUM = re.compile(r"^([a-z0-9]+):([0-9a-fA-F]+)$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def _problems(spec: Mapping[str, Any]) -> list[str]:
    who = spec.get("name") or "release_install"
    out = []
    fmt = spec.get("format", "archive")
    if fmt not in FORMATS:
        out.append(f"{who}: format {fmt!r} is not one of {', '.join(FORMATS)}")
    version = str(spec.get("version") or "")
    if not _SAFE_NAME.match(version):
        out.append(f"{who}: version {version!r} is not a plain version name (it names a directory)")
    for key in ("dir", "bin_dir"):
        if not posixpath.isabs(str(spec.get(key) or "")):
            out.append(f"{who}: {key} {spec.get(key)!r} is not an absolute path")
    programs = list(spec.get("programs") or [])
    if not programs:
        out.append(f"{who}: programs is empty: nothing to link")
    bad = [p for p in programs if not _SAFE_NAME.match(str(p))]
    if bad:
        out.append(f"{who}: programs {bad} are not plain file names")
    if fmt == "binary" and len(programs) > 1:
        out.append(f"{who}: a binary release holds one program, not {len(programs)}")
    if fmt == "archive" and not _SAFE_NAME.match(str(spec.get("file") or "")):
        out.append(f"{who}: file {spec.get('file')!r} is not a plain file name for the archive")
    src, url = str(spec.get("src") or ""), str(spec.get("url") or "")
    checksum = str(spec.get("checksum") or "")
    if not src and not url:
        out.append(f"{who}: neither a controller file (src) nor a url to fetch from")
    if checksum:
        m = _CHECKSUM.match(checksum)
        if not m or m[1] not in ALGORITHMS:
            out.append(
                f"{who}: checksum {checksum!r} is not <algorithm>:<hex> ({', '.join(ALGORITHMS)})"
            )
    elif url and not src:
        out.append(f"{who}: a download from {url} needs a checksum (<algorithm>:<hex>)")
    return out


def release_install_plan(spec: Mapping[str, Any]) -> dict[str, Any]:
    problems = _problems(spec)
    directory = str(spec.get("dir") or "")
    version_dir = posixpath.join(directory, str(spec.get("version") or ""))
    programs = [str(p) for p in spec.get("programs") or []]
    unpack = spec.get("format", "archive") == "archive"
    if unpack:
        fetch_dest = posixpath.join(directory, str(spec.get("file") or ""))
    else:
        fetch_dest = posixpath.join(version_dir, programs[0] if programs else "")
    checksum = str(spec.get("checksum") or "")
    algorithm, _, value = checksum.partition(":") if checksum else ("", "", "")
    return {
        "problems": problems,
        "version_dir": version_dir,
        "fetch_from": "src" if spec.get("src") else "url",
        "fetch_dest": fetch_dest,
        "unpack": unpack,
        "creates": posixpath.join(version_dir, programs[0] if programs else ""),
        "checksum_algorithm": algorithm,
        "checksum_value": value.lower(),
        "links": [
            {
                "name": p,
                "src": posixpath.join(version_dir, p),
                "dest": posixpath.join(str(spec.get("bin_dir") or ""), p),
            }
            for p in programs
        ],
    }


def _digest_cache_file() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "flannel-ansible" / "release-digests.json"


def _read_digest_cache() -> dict[str, str]:
    try:
        data = json.loads(_digest_cache_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _write_digest_cache(key: str, value: str) -> None:
    """Best effort: add one entry, dropping the older ones of the same file and
    algorithm; written through a rename, so a reader sees the old file or the new."""
    same_file = key.rsplit("|", 5)[0] + "|"
    entries = {k: v for k, v in _read_digest_cache().items() if not k.startswith(same_file)}
    entries[key] = value
    path = _digest_cache_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".digests-")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(entries, handle, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def release_install_digest(path: str, algorithm: str = "sha256") -> str:
    """The file's digest, kept by its real path, the algorithm and the file's identity
    (device, inode, size, mtime, ctime) in a small cache under $XDG_CACHE_HOME
    (~/.cache), so the workers Ansible forks for each task and host do not hash the same
    unchanged file again; hashed by flannel_host_read's file_digest (which also keeps it
    for the process). Any write to the file changes its ctime."""
    if algorithm not in hashlib.algorithms_available:  # before any cache is read
        raise ValueError(f"unsupported hash type {algorithm}")
    st = os.stat(path)
    key = "|".join(
        (
            algorithm,
            os.path.realpath(path),
            *(str(v) for v in (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)),
        )
    )
    cached = _read_digest_cache().get(key)
    if cached is None:
        cached = _host_read.file_digest(path, algorithm)
        _write_digest_cache(key, cached)
    return cached


def release_install_gap(check: Mapping[str, Any], observed: Any = None) -> str | None:
    if not isinstance(observed, Mapping) or str(check.get("algorithm") or "sha256") != "sha256":
        return None
    return _host_read.release_gap(check, observed)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "release_install_plan": release_install_plan,
            "release_install_digest": release_install_digest,
            "release_install_gap": release_install_gap,
        }
