"""Unit tests for the applied-state record: digests, the record file, the restart decision,
and the applied_state module end to end (with systemd's view and /proc faked)."""

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.unit.loader import load, use_project_module_utils

use_project_module_utils()
from ansible.module_utils import flannel_applied_state as fas  # noqa: E402

mod = load("applied_state", "library/applied_state.py")

ACTIVE = {"ActiveState": "active", "MainPID": "42", "NeedDaemonReload": "no", "LoadState": "loaded"}


def test_digest_file_and_absent(tmp_path):
    f = tmp_path / "a"
    f.write_text("x")
    assert fas.digest_file(str(f)).startswith("sha256:")
    assert fas.digest_file(str(f)) != fas.digest_file(str(tmp_path / "b"))
    assert fas.digest_file(str(tmp_path / "missing")) == fas.ABSENT


def test_digest_value_ignores_key_order():
    a = {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}
    b = {"Backend": {"Type": "vxlan"}, "Network": "10.244.0.0/16"}
    assert fas.digest_value(a) == fas.digest_value(b)
    assert fas.digest_value(a) != fas.digest_value({**a, "Backend": {"Type": "host-gw"}})


def test_current_digests_refuses_a_name_used_twice(tmp_path):
    with pytest.raises(ValueError, match="config"):
        fas.current_digests({"config": str(tmp_path / "x")}, {"config": {}})


def test_record_round_trip_is_0600_and_reports_change(tmp_path):
    path = tmp_path / "state" / "x.applied.json"
    digests = {"unit": "sha256:1", "options": "sha256:2"}
    assert fas.read_record(str(path)) is None
    assert fas.write_record(str(path), digests) is True
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert fas.read_record(str(path)) == digests
    assert fas.write_record(str(path), digests) is False
    assert fas.write_record(str(path), {**digests, "unit": "sha256:3"}) is True


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"inputs": 3}'])
def test_unreadable_record_counts_as_none(tmp_path, text):
    path = tmp_path / "r.json"
    path.write_text(text)
    assert fas.read_record(str(path)) is None


def test_changed_inputs_sees_added_removed_and_changed():
    record = {"a": "1", "b": "2", "c": "3"}
    assert fas.changed_inputs(record, {"a": "1", "b": "9", "d": "4"}) == ["b", "c", "d"]
    assert fas.changed_inputs(None, {"a": "1", "b": "2"}) == ["a", "b"]
    assert fas.changed_inputs(record, dict(record)) == []


def test_inactive_unit_starts_whatever_the_record_says():
    out = fas.decide({"a": "1"}, {"a": "1"}, {"ActiveState": "failed"})
    assert out["start"] and not out["restart"]
    assert out["reasons"] == ["not running (failed)"]


def test_unchanged_inputs_no_restart():
    out = fas.decide({"a": "1"}, {"a": "1"}, ACTIVE)
    assert not out["start"] and not out["restart"] and out["reasons"] == []


def test_changed_input_restarts_and_names_it():
    out = fas.decide({"a": "1", "b": "2"}, {"a": "1", "b": "3"}, ACTIVE)
    assert out["restart"] and out["reasons"] == ["b changed"]
    assert not out["coordinated"]


def test_coordinated_only_against_an_existing_record():
    changed = fas.decide(
        {"net": "1", "o": "1"}, {"net": "2", "o": "1"}, ACTIVE, coordinated_inputs=["net"]
    )
    assert changed["restart"] and changed["coordinated"]
    other = fas.decide(
        {"net": "1", "o": "1"}, {"net": "1", "o": "2"}, ACTIVE, coordinated_inputs=["net"]
    )
    assert other["restart"] and not other["coordinated"]
    unrecorded = fas.decide(None, {"net": "2"}, ACTIVE, coordinated_inputs=["net"])
    assert unrecorded["restart"] and not unrecorded["coordinated"]


def test_no_record_restarts_unless_adopted():
    out = fas.decide(None, {"a": "1"}, ACTIVE)
    assert out["restart"] and out["reasons"] == ["no record of what it was started with"]
    adopted = fas.decide(None, {"a": "1"}, ACTIVE, adopt=True)
    assert adopted["adopt"] and not adopted["restart"]


def test_adoption_needs_the_arguments_and_runtime_files():
    out = fas.decide(None, {"a": "1"}, ACTIVE, adopt=True, args_missing=["--mtu=1450"])
    assert not out["adopt"] and out["restart"]
    assert "runs without --mtu=1450" in out["reasons"]
    out = fas.decide(None, {"a": "1"}, ACTIVE, adopt=True, runtime_files_missing=["/run/x"])
    assert not out["adopt"] and "/run/x is missing" in out["reasons"]


def test_missing_runtime_file_and_argument_restart_a_recorded_daemon():
    out = fas.decide(
        {"a": "1"},
        {"a": "1"},
        ACTIVE,
        runtime_files_missing=["/run/flannel/subnet.env"],
        args_missing=["--bip=10.1.2.1/24"],
    )
    assert out["restart"]
    assert out["reasons"] == [
        "/run/flannel/subnet.env is missing",
        "runs without --bip=10.1.2.1/24",
    ]


def test_missing_args_keeps_order():
    assert fas.missing_args(
        ["dockerd", "--mtu=1450"], ["--bip=x", "--mtu=1450", "--ip-masq=false"]
    ) == [
        "--bip=x",
        "--ip-masq=false",
    ]


def test_process_argv_of_this_process_and_of_none():
    argv = fas.process_argv(os.getpid())
    assert any("pytest" in part for part in argv), argv
    assert fas.process_argv(0) == []
    assert fas.process_argv("") == []
    assert fas.process_argv(2**22 + 12345) == []


def test_parse_show():
    assert fas.parse_show("ActiveState=active\nMainPID=7\nbogus\n") == {
        "ActiveState": "active",
        "MainPID": "7",
    }


def run_module(capsys, monkeypatch, args, service=ACTIVE, argv=()):
    # The check itself is module_utils' check(), which host_read runs too.
    for where in (mod, fas):
        monkeypatch.setattr(where, "service_state", lambda unit: dict(service))
    monkeypatch.setattr(fas, "process_argv", lambda pid: list(argv))
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


def test_module_check_then_record_then_no_restart(tmp_path, capsys, monkeypatch):
    opts = tmp_path / "options"
    opts.write_text("A=1\n")
    record = tmp_path / "rec.json"
    args = {
        "service": "flanneld",
        "record": str(record),
        "files": {"options": str(opts)},
        "values": {"network_config": {"Backend": {"Type": "vxlan"}}},
    }
    first = run_module(capsys, monkeypatch, args)
    assert first["restart"] and first["changed"] is False and not record.exists()
    done = run_module(capsys, monkeypatch, {**args, "state": "recorded"})
    assert done["changed"] is True and record.exists()
    again = run_module(capsys, monkeypatch, args)
    assert not again["restart"] and again["changed_inputs"] == []
    opts.write_text("A=2\n")
    after_edit = run_module(capsys, monkeypatch, args)
    assert after_edit["restart"] and after_edit["reasons"] == ["options changed"]


def test_module_record_in_check_mode_writes_nothing(tmp_path, capsys, monkeypatch):
    record = tmp_path / "rec.json"
    args = {
        "service": "docker",
        "record": str(record),
        "state": "recorded",
        "_ansible_check_mode": True,
    }
    out = run_module(capsys, monkeypatch, args)
    assert out["changed"] is True and not record.exists()


def test_module_reads_argv_for_required_args(tmp_path, capsys, monkeypatch):
    args = {
        "service": "docker",
        "record": str(tmp_path / "r.json"),
        "adopt": True,
        "required_args": ["--bip=10.1.2.1/24", "--mtu=1450"],
    }
    adopted = run_module(
        capsys, monkeypatch, args, argv=["dockerd", "--bip=10.1.2.1/24", "--mtu=1450"]
    )
    assert adopted["adopt"] and not adopted["restart"] and adopted["args_missing"] == []
    stale = run_module(
        capsys, monkeypatch, args, argv=["dockerd", "--bip=10.1.2.1/24", "--mtu=1500"]
    )
    assert stale["restart"] and stale["args_missing"] == ["--mtu=1450"]


def test_module_inactive_unit_needs_a_start(tmp_path, capsys, monkeypatch):
    args = {"service": "flanneld", "record": str(tmp_path / "r.json"), "required_args": ["-x"]}
    out = run_module(capsys, monkeypatch, args, service={"ActiveState": "inactive", "MainPID": "0"})
    assert out["start"] and not out["restart"] and out["args_missing"] == []


def test_module_fails_on_a_name_clash(tmp_path, capsys, monkeypatch):
    args = {
        "service": "x",
        "record": str(tmp_path / "r.json"),
        "files": {"a": "/x"},
        "values": {"a": 1},
    }
    out = run_module(capsys, monkeypatch, args)
    assert out["failed"] and "a" in out["msg"]
