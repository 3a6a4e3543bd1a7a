"""Filters for the docker role's `repo` install: check the signing key, pin the version.

- docker_openpgp_fingerprints: the primary-key fingerprints in an OpenPGP public key
  (ASCII-armoured or binary, base64 as `slurp` and `uri` return it), so the role can
  refuse a key other than the one it was told to trust, before apt ever sees it.
- docker_repo_package_specs: the apt package specs, with docker_version pinned on the
  packages that carry Docker Engine's version (docker-ce and docker-ce-cli).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from typing import Any

PUBLIC_KEY_TAG = 6
# Packages whose version is Docker Engine's (epoch 5: "5:27.3.1-1~debian.13~trixie").
ENGINE_PACKAGES = ("docker-ce", "docker-ce-cli", "docker-ce-rootless-extras")
VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){1,2}([~+-][0-9A-Za-z.~+-]*)?$")


class OpenPGPError(ValueError):
    """Not an OpenPGP public key."""


def dearmor(text: str) -> bytes:
    """The binary packets of an ASCII-armoured block (the text itself if not armoured)."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("-----BEGIN PGP PUBLIC KEY BLOCK"):
        raise OpenPGPError("not an ASCII-armoured OpenPGP public key block")
    body: list[str] = []
    in_body = False
    for line in lines[1:]:
        if line.startswith("-----END PGP"):
            break
        if not in_body:
            # Armour headers ("Comment: ...") end at the first blank line.
            if not line.strip():
                in_body = True
            elif ":" not in line:
                in_body = True
                body.append(line.strip())
            continue
        if line.startswith("="):  # CRC24 checksum line
            continue
        body.append(line.strip())
    try:
        return base64.b64decode("".join(body), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise OpenPGPError(f"the armoured key does not decode: {exc}") from exc


def packets(data: bytes) -> list[tuple[int, bytes]]:
    """(tag, body) of every OpenPGP packet in data (RFC 4880 section 4.2)."""
    out = []
    pos = 0
    while pos < len(data):
        head = data[pos]
        if not head & 0x80:
            raise OpenPGPError(f"byte {pos} is not an OpenPGP packet header")
        if head & 0x40:  # new format
            tag = head & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, pos = first, pos + 2
            elif first < 224:
                length, pos = ((first - 192) << 8) + data[pos + 2] + 192, pos + 3
            elif first == 255:
                length, pos = int.from_bytes(data[pos + 2 : pos + 6], "big"), pos + 6
            else:
                raise OpenPGPError("partial-length packets do not occur in public keys")
        else:  # old format
            tag = (head >> 2) & 0x0F
            size = {0: 1, 1: 2, 2: 4}.get(head & 0x03)
            if size is None:
                raise OpenPGPError("indeterminate-length packets do not occur in public keys")
            length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
            pos += 1 + size
        if pos + length > len(data):
            raise OpenPGPError("the key is truncated")
        out.append((tag, data[pos : pos + length]))
        pos += length
    return out


def fingerprint(body: bytes) -> str:
    """The fingerprint of a public-key packet body: v4 SHA-1, v6 SHA-256 (RFC 9580)."""
    version = body[0] if body else 0
    if version == 4:
        return hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()  # noqa: S324
    if version == 6:
        return hashlib.sha256(b"\x9b" + len(body).to_bytes(4, "big") + body).hexdigest().upper()
    raise OpenPGPError(f"OpenPGP key version {version} is not supported (4 and 6 are)")


def docker_openpgp_fingerprints(key: Any, encoding: str = "text") -> list[str]:
    """Primary-key fingerprints in a public key; encoding `text` or `base64` (slurp)."""
    raw = str(key)
    if encoding == "base64":
        try:
            data = base64.b64decode(raw)
        except (binascii.Error, ValueError) as exc:
            raise OpenPGPError(f"the key is not valid base64: {exc}") from exc
        if data[:1] == b"-":
            data = dearmor(data.decode("ascii", "replace"))
    else:
        data = dearmor(raw)
    return [fingerprint(body) for tag, body in packets(data) if tag == PUBLIC_KEY_TAG]


def normalize_fingerprint(value: Any) -> str:
    """A fingerprint as written by gpg, with or without spaces, in upper case."""
    return re.sub(r"\s+", "", str(value or "")).upper()


def docker_repo_package_specs(packages: Sequence[str], version: Any = "") -> list[str]:
    """apt specs: `docker-ce=5:<version>-*` on the engine packages when version is set."""
    version = str(version or "").strip()
    if not version:
        return list(packages)
    if not VERSION_RE.match(version):
        raise ValueError(
            f"docker_version: {version!r} is not a Docker Engine version such as 27.3.1"
        )
    return [f"{p}=5:{version}-*" if p in ENGINE_PACKAGES else p for p in packages]


class FilterModule:
    """Docker role filters."""

    def filters(self) -> dict[str, Any]:
        return {
            "docker_openpgp_fingerprints": docker_openpgp_fingerprints,
            "docker_normalize_fingerprint": normalize_fingerprint,
            "docker_repo_package_specs": docker_repo_package_specs,
        }
