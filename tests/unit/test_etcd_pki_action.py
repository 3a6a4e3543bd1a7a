"""Unit tests for action_plugins/etcd_pki.py: the etcd PKI pass in the controller's worker,
with the module's arguments, results and errors (test_etcd_pki.py covers the pass itself)."""

from unittest.mock import MagicMock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.play_context import PlayContext

from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
action = load("etcd_pki_action", "action_plugins/etcd_pki.py")
module = load("etcd_pki", "library/etcd_pki.py")

CERTS = [
    {"name": "n1-server", "common_name": "n1", "sans": ["IP:10.0.0.1"], "usages": ["serverAuth"]},
    {"name": "flanneld-n1", "ca": "client-ca"},
]


def run_action(args, check=False):
    task = MagicMock()
    task.args = args
    task.check_mode = check
    task.async_val = 0
    task.action = "etcd_pki"
    plugin = action.ActionModule(
        task=task,
        connection=MagicMock(),
        play_context=PlayContext(),
        loader=MagicMock(),
        templar=MagicMock(),
        shared_loader_obj=MagicMock(),
    )
    return plugin.run(task_vars={})


def test_the_action_makes_the_pki_and_a_second_pass_changes_nothing(tmp_path):
    args = {"path": str(tmp_path / "pki"), "cluster_name": "lab", "certs": CERTS}
    first = run_action(args)
    assert first["changed"]
    assert {"ca", "client-ca", "n1-server.key", "flanneld-n1.key"} <= set(first["created"])
    assert set(first["signed"]) == {"n1-server", "flanneld-n1"}
    again = run_action(args)
    assert not again["changed"] and again["created"] == [] and again["signed"] == {}
    assert set(again["ca_not_after"]) == {"ca", "client-ca"}


def test_the_action_and_the_module_return_the_same(tmp_path, capsys):
    args = {"path": str(tmp_path / "pki"), "cluster_name": "lab", "certs": CERTS}
    run_action(args)
    from_module = run_module(module, capsys, args)
    from_action = run_action(args)
    for key in ("changed", "created", "signed", "ca_not_after", "ca_renew_due"):
        assert from_action[key] == from_module[key], key


def test_check_mode_writes_nothing(tmp_path):
    out = run_action({"path": str(tmp_path / "pki"), "cluster_name": "lab"}, check=True)
    assert out["changed"] and out["created"] == [str(tmp_path / "pki")]
    assert not (tmp_path / "pki").exists()


def test_arguments_are_checked_against_the_modules_spec(tmp_path):
    with pytest.raises(AnsibleActionFail, match="cluster_name"):
        run_action({"path": str(tmp_path / "pki")})
    with pytest.raises(AnsibleActionFail, match="ca_cert_src"):
        run_action({"path": str(tmp_path), "cluster_name": "lab", "ca_key_src": "/x.key"})


def test_a_pki_error_names_the_directory(tmp_path):
    d = tmp_path / "pki"
    d.mkdir()
    (d / "ca.crt").write_text("not a certificate\n")
    with pytest.raises(AnsibleActionFail, match=f"etcd PKI in {d}: "):
        run_action({"path": str(d), "cluster_name": "lab"})
