#!/usr/bin/python
"""Ansible module etcd_state: what an etcd member has on its host, read in one call."""

from __future__ import annotations

import json
import os
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_applied_state import digest_file, service_state
from ansible.module_utils.flannel_host_read import packages_missing, stat_paths

DOCUMENTATION = r"""
---
module: etcd_state
short_description: Read an etcd member's data, configuration, record and service state in one call
description:
  - Reads, and never changes, what the etcd role needs to know about a member before it
    configures it - whether the member has data, the configuration file as it is, the
    record of what the running etcd was started with, systemd's view of the unit, and a
    sha256 digest of each file etcd runs on.
  - Replaces a chain of C(stat), C(slurp), C(systemd_service) and C(command) tasks, so a
    converged member costs one round trip.
  - Returns digests of the listed files, never their contents, so keys can be listed.
version_added: "0.6.0"
author:
  - flannel-ansible maintainers
options:
  data_dir:
    description: etcd's data directory; the member has data when C(<data_dir>/member) exists.
    type: path
    required: true
  config_file:
    description: etcd's configuration file, returned as text (the controller parses it).
    type: path
    required: true
  record_file:
    description: The JSON record the role writes after every successful (re)start.
    type: path
    required: true
  service:
    description: The systemd unit.
    type: str
    default: etcd
  files:
    description: Files to digest (the unit, the binary, the certificates and keys in use).
    type: list
    elements: path
    default: []
  paths:
    description:
      - Paths to describe in RV(paths) (type, mode, owner, group, a file's sha256), so the
        role writes only what differs (the C(host_files_pending) filter).
    type: list
    elements: path
    default: []
  packages:
    description: Packages to look up with dpkg; RV(packages_missing) lists those not installed.
    type: list
    elements: str
    default: []
  version_of:
    description:
      - The etcd program whose C(--version) output to return as RV(version_output), or empty
        for none. The role reads the installed version here, in the same round trip.
    type: path
    default: ""
notes:
  - Supports check mode; it reads only.
"""

EXAMPLES = r"""
- name: Read what this member has
  etcd_state:
    data_dir: /var/lib/etcd
    config_file: /etc/etcd/etcd.conf.yml
    record_file: /etc/etcd/applied.json
    files: [/etc/systemd/system/etcd.service, /usr/bin/etcd]
  register: etcd_member_state
"""

RETURN = r"""
has_data:
  description: Whether C(<data_dir>/member) exists.
  returned: always
  type: bool
active_state:
  description: The unit's ActiveState (C(active), C(inactive), ...), empty without systemd.
  returned: always
  type: str
unit_file_state:
  description: The unit's UnitFileState (C(enabled), C(disabled), ...), empty without systemd.
  returned: always
  type: str
config_text:
  description: The configuration file's text, or null when there is none.
  returned: always
  type: str
record:
  description: The record as data, or an empty dict when it is missing or unreadable.
  returned: always
  type: dict
paths:
  description:
    - Per path of O(paths), C({type, mode, owner, group, sha256}).
    - Type C(absent) when the path is missing.
  returned: always
  type: dict
packages_missing:
  description: The packages of O(packages) that are not installed; null on a host without dpkg.
  returned: always
  type: list
  elements: str
version_output:
  description:
    - What C(<version_of> --version) printed (stdout and stderr), or the error that kept
      it from running; empty without O(version_of).
  returned: always
  type: str
fingerprints:
  description:
    - Each listed file's sha256 digest in hex, as C(sha256sum) prints it, by path.
    - C(absent) for a missing file.
  returned: always
  type: dict
"""


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def read_record(path: str) -> dict:
    text = read_text(path)
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def version_output(program: str) -> str:
    """What `<program> --version` prints, or why it could not run."""
    if not program:
        return ""
    try:
        done = subprocess.run(
            [program, "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as err:
        return f"{program} --version: {err}"
    return done.stdout + done.stderr


def member_state(
    data_dir: str,
    config_file: str,
    record_file: str,
    service: str,
    files: list[str],
    version_of: str = "",
    paths: list[str] | None = None,
    packages: list[str] | None = None,
) -> dict:
    """Everything the role reads about a member, as one result."""
    unit = service_state(service)
    return {
        "has_data": os.path.exists(os.path.join(data_dir, "member")),
        "active_state": unit.get("ActiveState", ""),
        "unit_file_state": unit.get("UnitFileState", ""),
        "config_text": read_text(config_file),
        "record": read_record(record_file),
        # Plain hex, as sha256sum prints it: records written by 0.5.0 compare equal.
        "fingerprints": {path: digest_file(path).removeprefix("sha256:") for path in files},
        "version_output": version_output(version_of),
        "paths": stat_paths(paths or []),
        "packages_missing": packages_missing(packages or []),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "data_dir": {"type": "path", "required": True},
            "config_file": {"type": "path", "required": True},
            "record_file": {"type": "path", "required": True},
            "service": {"type": "str", "default": "etcd"},
            "files": {"type": "list", "elements": "path", "default": []},
            "version_of": {"type": "path", "default": ""},
            "paths": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        state = member_state(
            p["data_dir"],
            p["config_file"],
            p["record_file"],
            p["service"],
            p["files"],
            p["version_of"],
            p["paths"],
            p["packages"],
        )
    except OSError as err:
        module.fail_json(msg=f"etcd state: {err}")
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
