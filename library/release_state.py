#!/usr/bin/python
"""Ansible module release_state: is a release installed as release_install lays it out?"""

from __future__ import annotations

import hashlib
import os
import stat

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: release_state
short_description: Check in one call that a release is in place (the release_install layout)
description:
  - Reads, and never changes, what the release_install role would make - the version
    directory, the fetched file (its digest, mode and owner root), the unpacked program when
    the release is an archive, and each program's link in the bin directory.
  - When everything is in place the role skips its directory, fetch, unpack, find and link
    tasks, so a converged host costs one round trip.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
options:
  version_dir:
    description: The version's directory.
    type: path
    required: true
  fetch_dest:
    description: Where the fetched release file is on the host.
    type: path
    required: true
  mode:
    description: The fetched file's octal mode, e.g. C("0755").
    type: str
    required: true
  algorithm:
    description: The hash algorithm of O(digest) (C(sha256), C(sha512), ...).
    type: str
    default: sha256
  digest:
    description: The fetched file's expected digest in hex.
    type: str
    required: true
  creates:
    description: A file the unpacked release has (archives only), or empty.
    type: path
    default: ""
  links:
    description:
      - The links to check, each C({src, dest}).
      - dest must be a symlink to src, and src must exist.
    type: list
    elements: dict
    default: []
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Check whether flanneld v0.28.9 is installed
  release_state:
    version_dir: /opt/flannel/v0.28.9
    fetch_dest: /opt/flannel/v0.28.9/flanneld
    mode: "0755"
    digest: "{{ flanneld_sha256 }}"
    links: [{src: /opt/flannel/v0.28.9/flanneld, dest: /usr/local/bin/flanneld}]
"""

RETURN = r"""
converged:
  description: Whether everything is in place.
  returned: always
  type: bool
why:
  description: The first thing that is not in place, or empty.
  returned: always
  type: str
"""


def file_digest(path: str, algorithm: str) -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def why_not(p: dict) -> str:
    """The first thing that is not in place, or an empty string."""
    if not os.path.isdir(p["version_dir"]):
        return f"no directory {p['version_dir']}"
    dest = p["fetch_dest"]
    try:
        st = os.stat(dest)
    except FileNotFoundError:
        return f"no {dest}"
    if stat.S_IMODE(st.st_mode) != int(p["mode"], 8) or st.st_uid != 0 or st.st_gid != 0:
        return f"{dest} has another mode or owner"
    if file_digest(dest, p["algorithm"]) != p["digest"].lower():
        return f"{dest} has another {p['algorithm']} digest"
    if p["creates"] and not os.path.exists(p["creates"]):
        return f"no {p['creates']}"
    for link in p["links"]:
        src, target = str(link["src"]), str(link["dest"])
        if not os.path.exists(src):
            return f"no {src}"
        if not os.path.islink(target) or os.readlink(target) != src:
            return f"{target} is not a link to {src}"
    return ""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "version_dir": {"type": "path", "required": True},
            "fetch_dest": {"type": "path", "required": True},
            "mode": {"type": "str", "required": True},
            "algorithm": {"type": "str", "default": "sha256"},
            "digest": {"type": "str", "required": True},
            "creates": {"type": "path", "default": ""},
            "links": {"type": "list", "elements": "dict", "default": []},
        },
        supports_check_mode=True,
    )
    try:
        why = why_not(module.params)
    except (OSError, ValueError) as err:
        why = str(err)
    module.exit_json(changed=False, converged=not why, why=why)


if __name__ == "__main__":
    main()
