#!/usr/bin/python
"""Ansible module host_read: what a role needs to know about a host's files, packages and
kernel settings, read in one call."""

from __future__ import annotations

import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_applied_state import check
from ansible.module_utils.flannel_host_read import packages_missing, stat_paths

DOCUMENTATION = r"""
---
module: host_read
short_description: Read paths, packages, sysctl values and program output in one call
description:
  - Reads, and never changes, what a role checks before it writes - each path's type, mode,
    owner, group and (for a file) sha256; which packages dpkg does not have installed; the
    values of kernel settings; and the output of a few read-only commands.
  - The roles then write only what differs (the C(host_files_pending) filter) and install
    only what is missing, so a converged host costs this one round trip.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
options:
  paths:
    description: Paths to describe (links are followed, as host_files follows them).
    type: list
    elements: path
    default: []
  packages:
    description: Packages to look up with dpkg.
    type: list
    elements: str
    default: []
  sysctls:
    description: Kernel settings to read, by their dotted names (C(net.ipv4.ip_forward)).
    type: list
    elements: str
    default: []
  commands:
    description:
      - Read-only commands to run, by a name of the caller's choice, each an argv list.
      - Their C(rc), C(stdout) and C(stderr) come back in RV(commands).
    type: dict
    default: {}
  applied:
    description:
      - The check of the applied_state module (O(applied.service), O(applied.record),
        O(applied.files), O(applied.values), O(applied.runtime_files),
        O(applied.coordinated_inputs)), made in the same call; RV(applied) is what
        applied_state would return. It holds as long as the role then changes none of those
        inputs (the roles ask applied_state again where they did).
    type: dict
    suboptions:
      service:
        description: The systemd unit.
        type: str
        required: true
      record:
        description: The record file.
        type: path
        required: true
      files:
        description: Input name to path.
        type: dict
        default: {}
      values:
        description: Input name to value.
        type: dict
        default: {}
      runtime_files:
        description: Files the running daemon writes.
        type: list
        elements: path
        default: []
      coordinated_inputs:
        description: Inputs whose change restarts every node at once.
        type: list
        elements: str
        default: []
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read what the node has
  host_read:
    paths: [/etc/flannel, /etc/systemd/system/flanneld.service]
    packages: [iptables]
    sysctls: [net.ipv4.ip_forward]
    commands:
      version: [/usr/local/bin/flanneld, -version]
  register: node_read
"""

RETURN = r"""
paths:
  description: Per path, C({type, mode, owner, group, sha256}); type C(absent) when missing.
  returned: always
  type: dict
packages_missing:
  description: The packages that are not installed; null on a host without dpkg.
  returned: always
  type: list
  elements: str
sysctls:
  description: Per setting, its value as the kernel shows it, or null when it does not exist.
  returned: always
  type: dict
commands:
  description: Per command name, C({rc, stdout, stderr}); rc 127 when the program is missing.
  returned: always
  type: dict
applied:
  description: What applied_state (O(state=check)) returns for O(applied), or null without it.
  returned: always
  type: dict
"""


def read_sysctl(name: str) -> str | None:
    try:
        with open("/proc/sys/" + name.replace(".", "/"), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


def run(argv: list[str]) -> dict:
    try:
        proc = subprocess.run(
            [str(a) for a in argv], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError) as err:
        return {"rc": 127, "stdout": "", "stderr": str(err)}
    return {"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "sysctls": {"type": "list", "elements": "str", "default": []},
            "commands": {"type": "dict", "default": {}},
            "applied": {
                "type": "dict",
                "options": {
                    "service": {"type": "str", "required": True},
                    "record": {"type": "path", "required": True},
                    "files": {"type": "dict", "default": {}},
                    "values": {"type": "dict", "default": {}},
                    "runtime_files": {"type": "list", "elements": "path", "default": []},
                    "coordinated_inputs": {"type": "list", "elements": "str", "default": []},
                },
            },
        },
        supports_check_mode=True,
    )
    p = module.params
    bad = [name for name, argv in p["commands"].items() if not isinstance(argv, list) or not argv]
    if bad:
        module.fail_json(msg=f"commands: {', '.join(bad)} must be non-empty argv lists")
    applied = p["applied"]
    try:
        paths = stat_paths(p["paths"])
        if applied is not None:
            applied = check(
                applied["service"],
                applied["record"],
                applied["files"],
                applied["values"],
                runtime_files=applied["runtime_files"],
                coordinated_inputs=applied["coordinated_inputs"],
            )
    except (OSError, ValueError) as err:
        module.fail_json(msg=f"host_read: {err}")
    module.exit_json(
        changed=False,
        paths=paths,
        packages_missing=packages_missing(p["packages"]),
        sysctls={name: read_sysctl(name) for name in p["sysctls"]},
        commands={name: run(argv) for name, argv in p["commands"].items()},
        applied=applied,
    )


if __name__ == "__main__":
    main()
