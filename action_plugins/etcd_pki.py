"""Action plugin etcd_pki: keep the etcd CAs and certificates on the controller, in the worker.

The PKI lives on the controller, so the module (library/etcd_pki.py, delegated to
localhost) started a Python of its own on every run only to import Ansible's module code
and ``cryptography`` and read a dozen files: about 0.35 s of the controller's time on a
no-op. This plugin runs the same pass (module_utils/flannel_pki.py's ``keep``, with the
module's argument spec) in the worker Ansible has already forked for the task. The
module's documentation describes the task's options and results; they are unchanged.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

try:
    from ..module_utils import flannel_pki as _pki
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
    import flannel_pki as _pki  # type: ignore[no-redef]


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):  # noqa: ANN001, ANN201 - Ansible's signature
        result = super().run(tmp, task_vars)
        _, args = self.validate_argument_spec(
            argument_spec=_pki.ARGUMENT_SPEC, required_together=_pki.REQUIRED_TOGETHER
        )
        try:
            result.update(_pki.keep(args, bool(self._task.check_mode)))
        except (_pki.PkiError, OSError) as err:
            raise AnsibleActionFail(f"etcd PKI in {args['path']}: {err}") from err
        return result
