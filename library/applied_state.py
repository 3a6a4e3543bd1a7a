#!/usr/bin/python
"""Ansible module applied_state: has a daemon applied its inputs, and record that it has."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_applied_state import (
    changed_inputs,
    check,
    current_digests,
    read_record,
    service_state,
    write_record,
)

DOCUMENTATION = r"""
---
module: applied_state
short_description: Decide whether a daemon must (re)start to apply its inputs, and record it did
description:
  - Keeps, on the host, a record of what a daemon was started with, as one sha256 digest per
    input (files by content, values as canonical JSON). The record is written with
    O(state=recorded) after a successful start or restart.
  - With O(state=check) (the default) it reads the unit's state from systemd and compares the
    inputs as they are now with the record. A restart that an interrupted run left undone is
    therefore still reported by every later run, until it is done and recorded.
  - A unit that is not active must start (RV(start)); starting applies the inputs.
  - An active unit must restart (RV(restart)) when an input differs from the record, when there
    is no record (unless O(adopt=true)), or when one of O(runtime_files) is missing.
  - Digests only are stored and returned, never file contents, so certificates and keys can be
    inputs.
version_added: "0.2.0"
author:
  - flannel-ansible maintainers
options:
  service:
    description: The systemd unit, e.g. C(flanneld) or C(docker).
    type: str
    required: true
  record:
    description: Absolute path of the record file (written with mode C(0600)).
    type: path
    required: true
  files:
    description: Input name to absolute path. A missing file has the digest C(absent).
    type: dict
    default: {}
  values:
    description: Input name to a value (any JSON-able data), e.g. the network config the daemon
      reads at start. Names must differ from those in O(files).
    type: dict
    default: {}
  runtime_files:
    description: Files the running daemon writes when it starts (e.g. flanneld's subnet file).
      When the unit is active and one of them is gone, it must restart.
    type: list
    elements: path
    default: []
  required_args:
    description:
      - Arguments the unit's main process must run with (compared with its argv from
        C(/proc/<MainPID>/cmdline)). One that is missing makes an active unit restart.
    type: list
    elements: str
    default: []
  adopt:
    description:
      - When there is no record, the unit is active and its process has every one of
        O(required_args), take the current inputs as applied instead of asking for a restart
        (e.g. a daemon set up before records existed). The caller then records them.
    type: bool
    default: false
  coordinated_inputs:
    description:
      - Input names whose change, against an existing record, makes the restart a coordinated
        one (RV(coordinated)), e.g. the network config that every node must switch together.
    type: list
    elements: str
    default: []
  state:
    description:
      - V(check) reads and decides; it never changes anything.
      - V(recorded) writes the record of the current inputs (changed when it differs).
    type: str
    choices: [check, recorded]
    default: check
attributes:
  check_mode:
    support: full
    description: V(recorded) reports whether the record would change and writes nothing.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Has flanneld applied its inputs?
  applied_state:
    service: flanneld
    record: /var/lib/flannel-ansible/flanneld.applied.json
    files:
      unit: /etc/systemd/system/flanneld.service
      options: /etc/default/flanneld
      binary: /usr/local/bin/flanneld
    values:
      network_config: "{{ flannel_network_config }}"
    runtime_files: ["{{ flannel_subnet_file }}"]
  register: flannel_state

- name: Record what flanneld now runs with (after its restart)
  applied_state:
    service: flanneld
    record: /var/lib/flannel-ansible/flanneld.applied.json
    files: "{{ flannel_state_files }}"
    values: "{{ flannel_state_values }}"
    state: recorded
"""

RETURN = r"""
active:
  description: Whether the unit is active.
  returned: always
  type: bool
start:
  description: The unit is not active and must be started.
  returned: state=check
  type: bool
restart:
  description: The unit is active and must restart to apply its inputs.
  returned: state=check
  type: bool
adopt:
  description: There was no record and O(adopt) took the current inputs as applied.
  returned: state=check
  type: bool
coordinated:
  description: The restart is due to a change of one of O(coordinated_inputs).
  returned: state=check
  type: bool
args_missing:
  description: The O(required_args) the running process lacks.
  returned: state=check
  type: list
  elements: str
reasons:
  description: Why it must start or restart, e.g. C(["options changed"]).
  returned: state=check
  type: list
  elements: str
changed_inputs:
  description: Names of the inputs that differ from the record (all of them without a record).
  returned: always
  type: list
  elements: str
need_daemon_reload:
  description: systemd reports that the unit file changed on disk since it was loaded.
  returned: always
  type: bool
service:
  description:
    - The unit's ActiveState, SubState, MainPID, NeedDaemonReload, LoadState and
      UnitFileState (C(enabled) once it starts at boot).
  returned: always
  type: dict
digests:
  description: Input name to its current digest.
  returned: always
  type: dict
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "service": {"type": "str", "required": True},
            "record": {"type": "path", "required": True},
            "files": {"type": "dict", "default": {}},
            "values": {"type": "dict", "default": {}},
            "runtime_files": {"type": "list", "elements": "path", "default": []},
            "required_args": {"type": "list", "elements": "str", "default": []},
            "adopt": {"type": "bool", "default": False},
            "coordinated_inputs": {"type": "list", "elements": "str", "default": []},
            "state": {"type": "str", "choices": ["check", "recorded"], "default": "check"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "recorded":
        try:
            digests = current_digests({k: str(v) for k, v in p["files"].items()}, p["values"])
        except ValueError as exc:
            module.fail_json(msg=f"applied_state: {exc}")
        record = read_record(p["record"])
        service = service_state(p["service"])
        would_change = record != digests
        if would_change and not module.check_mode:
            write_record(p["record"], digests)
        module.exit_json(
            changed=would_change,
            active=service.get("ActiveState") == "active",
            need_daemon_reload=service.get("NeedDaemonReload") == "yes",
            service=service,
            digests=digests,
            changed_inputs=changed_inputs(record, digests),
        )
    try:
        result = check(
            p["service"],
            p["record"],
            p["files"],
            p["values"],
            runtime_files=p["runtime_files"],
            required_args=p["required_args"],
            adopt=p["adopt"],
            coordinated_inputs=p["coordinated_inputs"],
        )
    except ValueError as exc:
        module.fail_json(msg=f"applied_state: {exc}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
