#!/usr/bin/python
"""Ansible module docker_host_state: what the docker role reads on a node, in one call."""

from __future__ import annotations

import json
import subprocess

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_docker_engine import engine_plan, firewall_check, firewall_unit
from ansible.module_utils.flannel_host_read import packages_missing, stat_paths

DOCUMENTATION = r"""
---
module: docker_host_state
short_description: Read daemon.json, the packaged docker.service and docker0 in one call
description:
  - Reads, and never changes, what the docker role needs before it writes its drop-in - the
    top-level keys of C(daemon.json), the path and text of the unit file systemd loads for
    the service (the packaged one, without drop-ins), and the bridge's IPv4 address.
  - Replaces a C(stat), a C(slurp), a C(systemd_service), a second C(slurp) and a C(command)
    task, and with O(paths) and O(packages) tells the role what it need not write or
    install, so a converged node costs one round trip.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
options:
  daemon_json:
    description: Docker's daemon configuration file.
    type: path
    default: /etc/docker/daemon.json
  service:
    description: The systemd unit.
    type: str
    default: docker
  bridge:
    description: The bridge whose IPv4 address to read.
    type: str
    default: docker0
  paths:
    description: Paths to describe in RV(paths), so the role writes only what differs.
    type: list
    elements: path
    default: []
  packages:
    description: Packages to look up with dpkg (RV(packages_missing)).
    type: list
    elements: str
    default: []
  engine:
    description:
      - With C(backend) (iptables or nftables) and C(network) (the flannel Network), also
        read the installed engine's version (C(dockerd --version)) and return in RV(engine)
        what it needs for the flannel network to reach its containers
        (module_utils/flannel_docker_engine.py) and whether that is in place.
    type: dict
notes:
  - Supports check mode (it only reads).
"""

EXAMPLES = r"""
- name: Read what Docker has on the node
  docker_host_state:
  register: docker_host
"""

RETURN = r"""
daemon_json_keys:
  description: The top-level keys of daemon.json; empty when the file is missing.
  returned: always
  type: list
  elements: str
daemon_json_error:
  description: Why daemon.json could not be read as a JSON object, or empty.
  returned: always
  type: str
unit_path:
  description: The unit file systemd loads for the service (C(FragmentPath)), or empty.
  returned: always
  type: str
unit_text:
  description: That file's text, or empty when there is none.
  returned: always
  type: str
bridge_rc:
  description: The exit code of C(ip -4 -o addr show dev <bridge>) (non-zero without the bridge).
  returned: always
  type: int
bridge_stdout:
  description: What that command printed.
  returned: always
  type: str
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
engine:
  description:
    - Only with O(engine). C(version_text) (what C(dockerd --version) printed, empty without
      dockerd), C(error) (why the engine cannot carry the overlay, or empty), C(version),
      C(flags) (dockerd flags the drop-in adds), C(unit) (the firewall unit's text, empty
      when none is needed), C(why) and C(applied) (the unit's rule is in place; true when
      there is none).
  returned: when O(engine) is set
  type: dict
"""


def daemon_json_keys(path: str) -> tuple[list[str], str]:
    """(the top-level keys, an error) of a daemon.json; no file means no keys."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return [], ""
    except OSError as err:
        return [], f"{path}: {err.strerror}"
    try:
        data = json.loads(text)
    except ValueError as err:
        return [], f"{path} is not valid JSON: {err}"
    if not isinstance(data, dict):
        return [], f"{path} is not a JSON object"
    return sorted(data), ""


def run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return 127, ""
    return proc.returncode, proc.stdout


def unit_file(service: str) -> tuple[str, str]:
    """(FragmentPath, its text) of a systemd unit; empty strings when there is none."""
    rc, out = run(["systemctl", "show", service, "--property=FragmentPath", "--value"])
    path = out.strip() if rc == 0 else ""
    if not path:
        return "", ""
    try:
        with open(path, encoding="utf-8") as handle:
            return path, handle.read()
    except OSError:
        return path, ""


def engine_state(backend: str, network: str) -> dict:
    """The installed engine, what it needs (engine_plan) and whether its rule is in place."""
    rc, out = run(["dockerd", "--version"])
    text = out.strip() if rc == 0 else ""
    found = {"version_text": text, "error": "", "version": "", "flags": [], "unit": "",
             "why": "", "applied": True}  # fmt: skip
    try:
        plan = engine_plan(text, backend, network)
    except ValueError as err:
        return dict(found, error=str(err))
    check = firewall_check(plan)
    found.update(
        version=plan["version"], flags=plan["flags"], unit=firewall_unit(plan), why=plan["why"],
        applied=check is None or run(check)[0] == 0,
    )  # fmt: skip
    return found


def host_state(
    daemon_json: str,
    service: str,
    bridge: str,
    paths: list[str] | None = None,
    packages: list[str] | None = None,
    engine: dict | None = None,
) -> dict:
    keys, error = daemon_json_keys(daemon_json)
    path, text = unit_file(service)
    rc, out = run(["ip", "-4", "-o", "addr", "show", "dev", bridge])
    return {
        "daemon_json_keys": keys,
        "daemon_json_error": error,
        "unit_path": path,
        "unit_text": text,
        "bridge_rc": rc,
        "bridge_stdout": out,
        "paths": stat_paths(paths or []),
        "packages_missing": packages_missing(packages or []),
        **({"engine": engine_state(engine["backend"], engine["network"])} if engine else {}),
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "daemon_json": {"type": "path", "default": "/etc/docker/daemon.json"},
            "service": {"type": "str", "default": "docker"},
            "bridge": {"type": "str", "default": "docker0"},
            "paths": {"type": "list", "elements": "path", "default": []},
            "packages": {"type": "list", "elements": "str", "default": []},
            "engine": {
                "type": "dict",
                "options": {
                    "backend": {"type": "str", "required": True},
                    "network": {"type": "str", "required": True},
                },
            },
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        state = host_state(
            p["daemon_json"], p["service"], p["bridge"], p["paths"], p["packages"], p["engine"]
        )
    except OSError as err:
        module.fail_json(msg=f"docker_host_state: {err}")
    module.exit_json(changed=False, **state)


if __name__ == "__main__":
    main()
