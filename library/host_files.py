#!/usr/bin/python
"""Ansible module host_files: directories and small text files on a host, in one call."""

from __future__ import annotations

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: host_files
short_description: Keep directories and small text files, with their mode and owner, in one call
description:
  - Makes each entry of O(files) what it says, in order - a directory, or a file with the
    given content - with its mode, owner and group, and changes only what differs.
  - Files are written through a temporary file in the same directory and a rename, so an
    interrupted run leaves the old file or the new one, never half of one.
  - One round trip for what would be a C(file) or C(template) task per path. The roles use it
    for their directories and the files they render (units, options, drop-ins); the contents
    are rendered on the controller (C(lookup('template', ...))).
  - Secrets (private keys) go in O(files[].secret_content), not O(files[].content) - it is
    masked in the module's arguments and result, and never shown by C(--diff).
  - O(files[].refuse_change_msg) makes the call fail, before it changes anything, when that
    file exists with another content (the etcd role refuses to replace a member's CA so).
version_added: "0.6.0"
author:
  - flannel-ansible maintainers
options:
  files:
    description: The entries, applied in order (a directory before the files in it).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path.
        type: path
        required: true
      state:
        description:
          - C(directory) makes the directory (and missing parents).
          - C(file) writes O(files[].content).
        type: str
        choices: [file, directory]
        default: file
      content:
        description:
          - The file's text. With C(state=file), exactly one of O(files[].content) and
            O(files[].secret_content) is required.
        type: str
      secret_content:
        description:
          - The file's text, for a secret - masked in the output (C(no_log)), and never in
            a diff.
        type: str
      refuse_change_msg:
        description:
          - When the file exists and its content differs from the wanted one, fail with this
            message (after the path) before any entry is applied. Its mode and owner are still
            corrected.
        type: str
      mode:
        description: Octal mode, e.g. C("0644").
        type: str
        required: true
      owner:
        description: User name.
        type: str
        default: root
      group:
        description: Group name.
        type: str
        default: root
notes:
  - Supports check mode and diff mode (a diff per changed file).
"""

EXAMPLES = r"""
- name: Write flanneld's options file and unit
  host_files:
    files:
      - {path: /etc/flannel, state: directory, mode: "0755"}
      - path: /etc/default/flanneld
        content: "{{ lookup('ansible.builtin.template', 'flanneld.options.j2') }}"
        mode: "0644"
"""

RETURN = r"""
changed_paths:
  description: The paths that were (or, in check mode, would be) created or changed, in order.
  returned: always
  type: list
  elements: str
"""


def _ids(owner: str, group: str) -> tuple[int, int]:
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise ValueError(f"no user {owner!r} on this host") from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise ValueError(f"no group {group!r} on this host") from None
    return uid, gid


def _attrs_differ(path: str, mode: int, uid: int, gid: int) -> bool:
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode) != mode or st.st_uid != uid or st.st_gid != gid


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def ensure_directory(path: str, mode: int, uid: int, gid: int, check: bool) -> bool:
    if os.path.isdir(path):  # a symlink to a directory counts (a data dir on another disk)
        if not _attrs_differ(path, mode, uid, gid):
            return False
    elif os.path.lexists(path):
        raise ValueError("exists and is not a directory")
    elif not check:
        os.makedirs(path, mode=mode)
    if not check:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def ensure_file(
    path: str, data: bytes, mode: int, uid: int, gid: int, check: bool
) -> tuple[bool, bytes | None]:
    """(changed, the old content) for one file."""
    if os.path.lexists(path) and not os.path.isfile(path):
        raise ValueError("exists and is not a regular file")
    old = _read(path)
    if old == data and not _attrs_differ(path, mode, uid, gid):
        return False, old
    if check:
        return True, old
    if old == data:  # the content is right: fix the attributes in place
        os.chown(path, uid, gid)
        os.chmod(path, mode)
        return True, old
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise ValueError(f"its directory {directory} does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chown(tmp, uid, gid)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True, old


def wanted(entry: dict) -> bytes:
    """The bytes a file entry asks for."""
    text = entry["content"] if entry["secret_content"] is None else entry["secret_content"]
    return text.encode("utf-8")


def refusal(entry: dict) -> str | None:
    """The failure message when a file with refuse_change_msg would change its content."""
    if entry["state"] != "file" or not entry["refuse_change_msg"]:
        return None
    old = _read(entry["path"]) if os.path.isfile(entry["path"]) else None
    if old is None or old == wanted(entry):
        return None
    return f"{entry['path']}: {entry['refuse_change_msg']}"


def _text(data: bytes | None) -> str:
    return "" if data is None else data.decode("utf-8", errors="replace")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "files": {
                "type": "list",
                "elements": "dict",
                "required": True,
                "options": {
                    "path": {"type": "path", "required": True},
                    "state": {"type": "str", "choices": ["file", "directory"], "default": "file"},
                    "content": {"type": "str"},
                    "secret_content": {"type": "str", "no_log": True},
                    "refuse_change_msg": {"type": "str"},
                    "mode": {"type": "str", "required": True},
                    "owner": {"type": "str", "default": "root"},
                    "group": {"type": "str", "default": "root"},
                },
                "mutually_exclusive": [["content", "secret_content"]],
                "required_if": [["state", "file", ["content", "secret_content"], True]],
            }
        },
        supports_check_mode=True,
    )
    changed_paths: list[str] = []
    diffs: list[dict[str, str]] = []
    for entry in module.params["files"]:
        refused = refusal(entry)
        if refused:
            module.fail_json(msg=refused, changed_paths=[])
    for entry in module.params["files"]:
        path = entry["path"]
        try:
            if not os.path.isabs(path):
                raise ValueError("is not an absolute path")
            try:
                mode = int(entry["mode"], 8)
            except ValueError:
                raise ValueError(f"mode {entry['mode']!r} is not an octal number") from None
            uid, gid = _ids(entry["owner"], entry["group"])
            if entry["state"] == "directory":
                if ensure_directory(path, mode, uid, gid, module.check_mode):
                    changed_paths.append(path)
                continue
            data = wanted(entry)
            changed, old = ensure_file(path, data, mode, uid, gid, module.check_mode)
            if changed:
                changed_paths.append(path)
                if old != data and entry["secret_content"] is None:
                    diffs.append(
                        {
                            "before_header": path,
                            "after_header": path,
                            "before": _text(old),
                            "after": _text(data),
                        }
                    )
        except (OSError, ValueError) as err:
            module.fail_json(msg=f"{path}: {err}", changed_paths=changed_paths)
    result: dict = {"changed": bool(changed_paths), "changed_paths": changed_paths}
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
