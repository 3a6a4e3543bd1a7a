"""Unit tests for module_utils/flannel_docker_engine.py: what each engine and backend gets,
and the firewall unit that applies it (measured on the lab: see the module's docstring)."""

import pytest

from tests.unit.loader import load, use_project_module_utils

use_project_module_utils()
eng = load("flannel_docker_engine", "module_utils/flannel_docker_engine.py")
host = load("docker_host_state", "library/docker_host_state.py")

NET = "10.244.0.0/16"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Docker version 28.5.2+dfsg4, build 3ef3c07", (28, 5, 2)),
        ("Docker version 20.10.24+dfsg1, build 297e128", (20, 10, 24)),
        ("29.8.1", (29, 8, 1)),
        ("29.9.0-rc.1", (29, 9, 0)),
        ("", None),
        ("bash: dockerd: command not found", None),
    ],
)
def test_engine_version_reads_dockerd_and_bare_versions(text, want):
    assert eng.engine_version(text) == want


@pytest.mark.parametrize("version", ["20.10.24", "26.1.5", "27.5.1"])
def test_engines_before_28_get_nothing(version):
    plan = eng.engine_plan(version, "iptables", NET)
    assert plan["flags"] == [] and plan["iptables"] is None and plan["nft"] == ""
    assert eng.firewall_unit(plan) == "" and eng.firewall_check(plan) is None


@pytest.mark.parametrize("version", ["28.0.4", "28.1.1"])
def test_28_0_and_28_1_are_refused_with_the_fix(version):
    with pytest.raises(ValueError, match="28.2 or later"):
        eng.engine_plan(version, "iptables", NET)


@pytest.mark.parametrize("version", ["28.2.0", "28.5.2", "29.8.1"])
def test_iptables_from_28_2_gets_the_flag_and_a_docker_user_accept(version):
    plan = eng.engine_plan(version, "iptables", NET)
    assert plan["flags"] == ["--allow-direct-routing"]
    assert plan["iptables"][:4] == ["-s", NET, "-o", "docker0"]
    assert plan["iptables"][-2:] == ["-j", "ACCEPT"]
    unit = eng.firewall_unit(plan)
    assert "PartOf=docker.service" in unit and "WantedBy=docker.service" in unit
    assert "-C DOCKER-USER" in unit and "-I DOCKER-USER 1" in unit
    assert eng.firewall_check(plan)[:4] == ["/usr/sbin/iptables", "-w", "-C", "DOCKER-USER"]


def test_nftables_on_29_gets_the_backend_the_mark_and_our_table():
    plan = eng.engine_plan("Docker version 29.8.1, build x", "nftables", NET)
    assert plan["flags"] == [
        "--firewall-backend=nftables",
        "--allow-direct-routing",
        "--bridge-accept-fwmark=0x4000000/0x4000000",
    ]
    assert plan["iptables"] is None
    assert f"ip saddr {NET}" in plan["nft"] and "table ip flannel-docker" in plan["nft"]
    unit = eng.firewall_unit(plan)
    # after a switch from iptables the old rule goes; the stop removes both
    assert "ExecStartPre=-/bin/sh -c 'while /usr/sbin/iptables -w -D DOCKER-USER" in unit
    assert unit.count("ExecStop=") == 2
    assert eng.firewall_check(plan) == [
        "/usr/sbin/nft",
        "list",
        "chain",
        "ip",
        "flannel-docker",
        "forward",
    ]


@pytest.mark.parametrize("version", ["26.1.5", "28.5.2"])
def test_nftables_before_29_is_refused_naming_the_setting(version):
    with pytest.raises(ValueError, match="docker_firewall_backend: nftables needs Docker 29"):
        eng.engine_plan(version, "nftables", NET)


def test_bad_inputs_name_the_setting():
    with pytest.raises(ValueError, match="docker_firewall_backend"):
        eng.engine_plan("29.8.1", "ebtables", NET)
    with pytest.raises(ValueError, match="docker_flannel_network"):
        eng.engine_plan("29.8.1", "iptables", "10.244.0.1/16")
    with pytest.raises(ValueError, match="is dockerd installed"):
        eng.engine_plan("", "iptables", NET)


def test_the_unit_does_not_name_the_patch_version():
    # a patch upgrade of the engine must not rewrite the unit (or restart anything)
    a = eng.firewall_unit(eng.engine_plan("28.5.2", "iptables", NET))
    b = eng.firewall_unit(eng.engine_plan("29.8.1", "iptables", NET))
    assert a == b


def test_host_state_reports_the_plan_and_whether_the_rule_is_in_place(monkeypatch):
    calls = []

    def fake_run(argv):
        calls.append(argv)
        if argv[0] == "dockerd":
            return 0, "Docker version 28.5.2+dfsg4, build 3ef3c07\n"
        return 1, ""  # the -C check: the rule is missing

    monkeypatch.setattr(host, "run", fake_run)
    found = host.engine_state("iptables", NET)
    assert found["version"] == "28.5.2" and found["error"] == ""
    assert found["flags"] == ["--allow-direct-routing"] and found["applied"] is False
    assert "DOCKER-USER" in found["unit"]
    assert calls[1][:4] == ["/usr/sbin/iptables", "-w", "-C", "DOCKER-USER"]


def test_host_state_without_dockerd_says_why(monkeypatch):
    monkeypatch.setattr(host, "run", lambda argv: (127, ""))
    found = host.engine_state("iptables", NET)
    assert "is dockerd installed" in found["error"] and found["unit"] == ""
