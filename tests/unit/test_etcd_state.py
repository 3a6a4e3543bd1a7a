"""Unit tests for library/etcd_state.py: one read of an etcd member's state."""

import hashlib
import json

import pytest

from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
mod = load("etcd_state", "library/etcd_state.py")


@pytest.fixture
def systemd(monkeypatch):
    state = {"ActiveState": "active", "UnitFileState": "enabled"}
    monkeypatch.setattr(mod, "service_state", lambda unit: dict(state, unit=unit))
    return state


def run(capsys, **args):
    return run_module(mod, capsys, args)


def paths(tmp_path):
    return {
        "data_dir": str(tmp_path / "data"),
        "config_file": str(tmp_path / "etcd.conf.yml"),
        "record_file": str(tmp_path / "applied.json"),
    }


def test_a_new_host_has_nothing(tmp_path, capsys, systemd):
    systemd["ActiveState"] = "inactive"
    out = run(capsys, **paths(tmp_path), files=[str(tmp_path / "etcd")])
    assert out["rc"] == 0 and not out["changed"]
    assert out["has_data"] is False and out["active_state"] == "inactive"
    assert out["config_text"] is None and out["record"] == {}
    assert out["fingerprints"] == {str(tmp_path / "etcd"): "absent"}


def test_a_member_reports_data_config_record_and_sha256sum_digests(tmp_path, capsys, systemd):
    (tmp_path / "data" / "member").mkdir(parents=True)
    (tmp_path / "etcd.conf.yml").write_text("name: n1\n")
    record = {"config": {"name": "n1"}, "files": {"/usr/bin/etcd": "x"}}
    (tmp_path / "applied.json").write_text(json.dumps(record))
    unit = tmp_path / "etcd.service"
    unit.write_bytes(b"[Unit]\n")
    out = run(capsys, **paths(tmp_path), files=[str(unit)])
    assert out["has_data"] is True and out["active_state"] == "active"
    assert out["unit_file_state"] == "enabled"
    assert out["config_text"] == "name: n1\n" and out["record"] == record
    # the same digest text as `sha256sum` prints, as the 0.5.0 records hold
    assert out["fingerprints"] == {str(unit): hashlib.sha256(b"[Unit]\n").hexdigest()}


@pytest.mark.parametrize("text", ["not json", "[1, 2]"])
def test_an_unreadable_record_counts_as_none(tmp_path, capsys, systemd, text):
    (tmp_path / "applied.json").write_text(text)
    assert run(capsys, **paths(tmp_path))["record"] == {}


def test_check_mode_reads_too(tmp_path, capsys, systemd):
    (tmp_path / "etcd.conf.yml").write_text("a: 1\n")
    out = run(capsys, **paths(tmp_path), _ansible_check_mode=True)
    assert out["config_text"] == "a: 1\n" and not out["changed"]


def test_the_version_is_read_in_the_same_call(tmp_path, capsys, systemd):
    prog = tmp_path / "etcd"
    prog.write_text("#!/bin/sh\necho 'etcd Version: 3.5.16'\necho 'Go Version: go1.22'\n")
    prog.chmod(0o755)
    out = run(capsys, **paths(tmp_path), version_of=str(prog))
    assert out["version_output"] == "etcd Version: 3.5.16\nGo Version: go1.22\n"


def test_a_missing_program_says_why_and_no_version_is_empty(tmp_path, capsys, systemd):
    out = run(capsys, **paths(tmp_path), version_of=str(tmp_path / "nope"))
    assert "nope --version" in out["version_output"] and out["rc"] == 0
    assert run(capsys, **paths(tmp_path))["version_output"] == ""
