#!/usr/bin/python
"""Ansible module release_state: is a release installed as release_install lays it out?"""

from __future__ import annotations

import hashlib

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_host_read import release_gap, release_paths, stat_paths

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
    plan = {key: p[key] for key in ("version_dir", "fetch_dest", "mode", "digest", "creates")}
    plan["links"] = p["links"]
    observed = stat_paths(release_paths(plan))
    algorithm = p["algorithm"]
    digest_of = None if algorithm == "sha256" else (lambda path: file_digest(path, algorithm))
    gap = release_gap(plan, observed, digest_of)
    return "not read" if gap is None else gap


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
