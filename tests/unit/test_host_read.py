"""Unit tests for library/host_read.py: paths, packages, sysctls and commands in one read."""

import hashlib

import pytest

from tests.unit.fake_dpkg import fake_dpkg_query, no_dpkg_query
from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
mod = load("host_read", "library/host_read.py")


def run(capsys, **args):
    return run_module(mod, capsys, args)


def test_nothing_asked_reads_nothing(capsys):
    out = run(capsys)
    assert out["rc"] == 0 and out["changed"] is False
    assert out["paths"] == {} and out["packages_missing"] == []
    assert out["sysctls"] == {} and out["commands"] == {}


def test_paths_are_described(tmp_path, capsys):
    f = tmp_path / "f"
    f.write_bytes(b"x\n")
    f.chmod(0o600)
    out = run(capsys, paths=[str(f), str(tmp_path / "none"), str(tmp_path)])
    assert out["paths"][str(f)]["type"] == "file" and out["paths"][str(f)]["mode"] == "0600"
    assert out["paths"][str(f)]["sha256"] == hashlib.sha256(b"x\n").hexdigest()
    assert out["paths"][str(tmp_path / "none")] == {"type": "absent"}
    assert out["paths"][str(tmp_path)]["type"] == "directory"


def test_packages_come_from_dpkg_query(tmp_path, capsys, monkeypatch):
    fake_dpkg_query(tmp_path, monkeypatch, ["iptables 1.8 installed", "kmod 30 not-installed"])
    out = run(capsys, packages=["iptables", "kmod", "jq"])
    assert out["packages_missing"] == ["kmod", "jq"]


def test_packages_are_unknown_without_dpkg(tmp_path, capsys, monkeypatch):
    no_dpkg_query(tmp_path, monkeypatch)
    assert run(capsys, packages=["iptables"])["packages_missing"] is None


def test_sysctls_are_read_from_proc(capsys):
    out = run(capsys, sysctls=["kernel.ostype", "no.such.setting"])
    assert out["sysctls"] == {"kernel.ostype": "Linux", "no.such.setting": None}


def test_commands_give_their_rc_and_output(tmp_path, capsys):
    out = run(
        capsys,
        commands={
            "echo": ["/bin/echo", "hi"],
            "number": ["/bin/echo", 7],
            "fails": ["/bin/sh", "-c", "echo oops >&2; exit 3"],
            "missing": [str(tmp_path / "no-such-program")],
        },
    )
    assert out["rc"] == 0
    assert out["commands"]["echo"] == {"rc": 0, "stdout": "hi\n", "stderr": ""}
    assert out["commands"]["number"]["stdout"] == "7\n"
    assert out["commands"]["fails"] == {"rc": 3, "stdout": "", "stderr": "oops\n"}
    missing = out["commands"]["missing"]
    assert missing["rc"] == 127 and missing["stdout"] == ""
    assert "no-such-program" in missing["stderr"]


@pytest.mark.parametrize("argv", ["/bin/echo hi", [], {"a": 1}])
def test_a_command_that_is_not_an_argv_list_fails_naming_it(capsys, argv):
    out = run(capsys, commands={"good": ["/bin/echo"], "version": argv})
    assert out["failed"] and out["rc"] == 1
    assert "version" in out["msg"] and "good" not in out["msg"]


def test_check_mode_reads_too(tmp_path, capsys):
    (tmp_path / "f").write_text("")
    out = run(
        capsys,
        paths=[str(tmp_path / "f")],
        sysctls=["kernel.ostype"],
        commands={"echo": ["/bin/echo", "hi"]},
        _ansible_check_mode=True,
    )
    assert out["changed"] is False and out["paths"][str(tmp_path / "f")]["type"] == "file"
    assert out["sysctls"]["kernel.ostype"] == "Linux"
    assert out["commands"]["echo"]["stdout"] == "hi\n"


def test_run_reports_a_missing_program_as_127(tmp_path):
    assert mod.run([str(tmp_path / "nope")])["rc"] == 127


def test_the_applied_check_is_the_applied_state_modules(tmp_path, capsys, monkeypatch):
    from ansible.module_utils import flannel_applied_state as fas

    monkeypatch.setattr(
        fas, "service_state", lambda unit: {"ActiveState": "active", "MainPID": "0"}
    )
    opts = tmp_path / "options"
    opts.write_text("A=1\n")
    record = tmp_path / "applied.json"
    applied = {"service": "flanneld", "record": str(record), "files": {"options": str(opts)}}
    first = run(capsys, applied=applied)["applied"]
    assert first["restart"] is True  # no record yet: an active unit restarts
    fas.write_record(str(record), first["digests"])
    assert run(capsys, applied=applied)["applied"]["restart"] is False
    opts.write_text("A=2\n")
    again = run(capsys, applied=applied)["applied"]
    assert again["restart"] is True and again["changed_inputs"] == ["options"]
    assert run(capsys)["applied"] is None
