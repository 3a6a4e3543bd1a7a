"""Unit tests for library/docker_host_state.py: daemon.json, the unit file and docker0."""

import pytest

from tests.unit.fake_dpkg import fake_dpkg_query
from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
mod = load("docker_host_state", "library/docker_host_state.py")

BRIDGE = "5: docker0    inet 10.5.1.1/24 brd 10.5.1.255 scope global docker0\n"


# daemon_json_keys


def test_a_missing_daemon_json_has_no_keys_and_no_error(tmp_path):
    assert mod.daemon_json_keys(str(tmp_path / "daemon.json")) == ([], "")


def test_the_keys_of_an_object_come_sorted(tmp_path):
    f = tmp_path / "daemon.json"
    f.write_text('{"log-driver": "json-file", "bip": "10.5.1.1/24", "mtu": 1450}')
    assert mod.daemon_json_keys(str(f)) == (["bip", "log-driver", "mtu"], "")


def test_invalid_json_says_so(tmp_path):
    f = tmp_path / "daemon.json"
    f.write_text('{"bip": ')
    keys, error = mod.daemon_json_keys(str(f))
    assert keys == [] and error.startswith(f"{f} is not valid JSON: ")


@pytest.mark.parametrize("text", ["[1, 2]", '"bip"', "null"])
def test_json_that_is_not_an_object_says_so(tmp_path, text):
    f = tmp_path / "daemon.json"
    f.write_text(text)
    assert mod.daemon_json_keys(str(f)) == ([], f"{f} is not a JSON object")


def test_an_unreadable_daemon_json_gives_the_reason(tmp_path):
    assert mod.daemon_json_keys(str(tmp_path)) == ([], f"{tmp_path}: Is a directory")


# host_state, with the commands faked


@pytest.fixture
def commands(monkeypatch):
    """Answers by program name, and the argv of each call made."""
    answers = {"systemctl": (0, "\n"), "ip": (0, BRIDGE)}
    calls = []

    def fake(argv):
        calls.append(argv)
        return answers[argv[0]]

    monkeypatch.setattr(mod, "run", fake)
    return answers, calls


def test_the_unit_file_systemd_loads_is_read(tmp_path, commands):
    answers, calls = commands
    unit = tmp_path / "docker.service"
    unit.write_text("[Service]\nExecStart=/usr/bin/dockerd -H fd://\n")
    answers["systemctl"] = (0, f"{unit}\n")
    out = mod.host_state(str(tmp_path / "daemon.json"), "docker", "docker0")
    assert out["unit_path"] == str(unit)
    assert out["unit_text"] == "[Service]\nExecStart=/usr/bin/dockerd -H fd://\n"
    assert out["bridge_rc"] == 0 and out["bridge_stdout"] == BRIDGE
    assert calls == [
        ["systemctl", "show", "docker", "--property=FragmentPath", "--value"],
        ["ip", "-4", "-o", "addr", "show", "dev", "docker0"],
    ]
    assert out["paths"] == {} and out["packages_missing"] == []


@pytest.mark.parametrize("answer", [(0, "\n"), (1, "/lib/systemd/system/docker.service\n")])
def test_no_unit_or_a_failed_systemctl_gives_empty_strings(tmp_path, commands, answer):
    commands[0]["systemctl"] = answer
    out = mod.host_state(str(tmp_path / "daemon.json"), "docker", "docker0")
    assert out["unit_path"] == "" and out["unit_text"] == ""


def test_a_unit_path_that_cannot_be_read_keeps_the_path(tmp_path, commands):
    commands[0]["systemctl"] = (0, f"{tmp_path / 'gone.service'}\n")
    out = mod.host_state(str(tmp_path / "daemon.json"), "docker", "docker0")
    assert out["unit_path"] == str(tmp_path / "gone.service") and out["unit_text"] == ""


def test_a_missing_bridge_is_its_rc(tmp_path, commands):
    answers, calls = commands
    answers["ip"] = (1, "")
    out = mod.host_state(str(tmp_path / "daemon.json"), "docker", "br-x")
    assert out["bridge_rc"] == 1 and out["bridge_stdout"] == ""
    assert calls[-1][-1] == "br-x"


def test_paths_and_packages_pass_through(tmp_path, commands, monkeypatch):
    fake_dpkg_query(
        tmp_path, monkeypatch, ["docker-ce 27.3 installed", "containerd.io 1.7 not-installed"]
    )
    (tmp_path / "dropin.conf").write_text("[Service]\n")
    out = mod.host_state(
        str(tmp_path / "daemon.json"),
        "docker",
        "docker0",
        paths=[str(tmp_path / "dropin.conf"), str(tmp_path / "none")],
        packages=["docker-ce", "containerd.io"],
    )
    assert out["paths"][str(tmp_path / "dropin.conf")]["type"] == "file"
    assert out["paths"][str(tmp_path / "none")] == {"type": "absent"}
    assert out["packages_missing"] == ["containerd.io"]


def test_the_module_reports_it_all_unchanged_in_check_mode(tmp_path, capsys, commands):
    (tmp_path / "daemon.json").write_text('{"mtu": 1450}')
    args = {"daemon_json": str(tmp_path / "daemon.json"), "_ansible_check_mode": True}
    out = run_module(mod, capsys, args)
    assert out["rc"] == 0 and out["changed"] is False
    assert out["daemon_json_keys"] == ["mtu"] and out["daemon_json_error"] == ""
    assert out["bridge_stdout"] == BRIDGE
    assert commands[1][0][2] == "docker"  # the default service


def test_run_reports_a_missing_program_as_127(tmp_path):
    assert mod.run([str(tmp_path / "nope")]) == (127, "")
