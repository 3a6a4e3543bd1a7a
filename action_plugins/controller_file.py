"""Action plugin controller_file: write a text file on the controller, in the worker.

A C(copy) delegated to localhost starts a Python on the controller twice (stat, then
copy) for a file the controller already holds in memory. This writes it directly, with
the same guarantees the roles rely on: parent directories made, the file replaced by a
rename (never half written), the mode set, changed only when the content or mode differ.
"""

from __future__ import annotations

import os
import tempfile

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

DOCUMENTATION = r"""
---
module: controller_file
short_description: Write a text file on the controller (an action plugin; nothing runs on the host)
description:
  - Writes O(content) to O(path) on the controller, making missing parent directories, through a
    temporary file and a rename; changes nothing when the file already has that content and mode.
  - Runs in the controller's worker process, whatever host the task is for.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
options:
  path:
    description: Path on the controller (a relative one is taken from the working directory).
    type: path
    required: true
  content:
    description: The file's text.
    type: str
    required: true
  mode:
    description: Octal mode of the file, e.g. C("0644"); new directories get C(0755).
    type: str
    default: "0644"
notes:
  - Check mode reports what would change and writes nothing.
"""


def write(path: str, content: str, mode: int, check: bool) -> bool:
    """Whether the file changed (or would change, in check mode)."""
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            same = handle.read() == data
        same = same and (os.stat(path).st_mode & 0o7777) == mode
    except FileNotFoundError:
        same = False
    if same or check:
        return not same
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):  # noqa: ANN001, ANN201 - Ansible's signature
        result = super().run(tmp, task_vars)
        args = self._task.args
        path, content = args.get("path"), args.get("content")
        if not isinstance(path, str) or not path:
            raise AnsibleActionFail(f"controller_file: path must be a path, not {path!r}")
        path = os.path.abspath(path)  # relative to the controller's working directory
        if not isinstance(content, str):
            raise AnsibleActionFail("controller_file: content must be a string")
        try:
            mode = int(str(args.get("mode", "0644")), 8)
        except ValueError:
            bad = args.get("mode")
            raise AnsibleActionFail(f"controller_file: mode {bad!r} is not octal") from None
        try:
            changed = write(path, content, mode, bool(self._task.check_mode))
        except OSError as err:
            raise AnsibleActionFail(f"controller_file: {path}: {err}") from err
        result.update(changed=changed, path=path)
        return result
