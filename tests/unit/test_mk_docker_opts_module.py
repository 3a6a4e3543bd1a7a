"""Unit tests for library/mk_docker_opts.py, plus one end-to-end run through `ansible`."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

from tests.unit.loader import ROOT, load, use_project_module_utils

# The module imports ansible.module_utils.flannel_docker_opts, as ansible.cfg arranges.
use_project_module_utils()
from ansible.module_utils import flannel_docker_opts as fdo  # noqa: E402

mod = load("mk_docker_opts", "library/mk_docker_opts.py")

SUBNET_ENV = (
    "FLANNEL_NETWORK=10.1.0.0/16\n"
    "FLANNEL_SUBNET=10.1.74.1/24\n"
    "FLANNEL_MTU=1472\n"
    "FLANNEL_IPMASQ=false\n"
)
EXPECTED = (
    'DOCKER_OPT_BIP="--bip=10.1.74.1/24"\n'
    'DOCKER_OPT_IPMASQ="--ip-masq=true"\n'
    'DOCKER_OPT_MTU="--mtu=1472"\n'
    'DOCKER_OPTS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"\n'
)
CONFLICT = "default via 10.0.0.1 dev eth0\n10.1.74.0/24 via 10.0.0.1 dev eth0\n"


@pytest.fixture
def routes(monkeypatch):
    """The routing table `ip -4 route show` would print; empty unless a test sets it."""
    table = {"text": "", "calls": 0}

    def fake():
        table["calls"] += 1
        return table["text"]

    monkeypatch.setattr(fdo, "list_routes", fake)
    return table


@pytest.fixture
def paths(tmp_path):
    subnet = tmp_path / "subnet.env"
    subnet.write_text(SUBNET_ENV)
    return subnet, tmp_path / "docker_opts.env"


def run_module(capsys, **args):
    """Run the module's main() with `args`; return its JSON result."""
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        mod.main()
    result = json.loads(capsys.readouterr().out)
    assert (exc.value.code != 0) == bool(result.get("failed")), result
    return result


def run_paths(capsys, paths, **args):
    subnet, dest = paths
    return run_module(capsys, subnet_file=str(subnet), dest=str(dest), **args)


def test_defaults_write_upstream_format(capsys, paths, routes):
    result = run_paths(capsys, paths)
    dest = paths[1]
    assert result["changed"] is True
    assert result["dest"] == str(dest)
    assert result["docker_opts"] == " --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"
    assert (result["bip"], result["mtu"], result["ip_masq"]) == (
        "--bip=10.1.74.1/24",
        "--mtu=1472",
        "--ip-masq=true",
    )
    assert "diff" not in result
    assert dest.read_bytes() == EXPECTED.encode()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert routes["calls"] == 1


def test_subnet_file_is_required(capsys, routes):
    result = run_module(capsys)
    assert result["failed"] and "missing required arguments: subnet_file" in result["msg"]


def test_default_paths(capsys, routes, monkeypatch):
    seen = {}

    def fake_generate(**kwargs):
        seen.update(kwargs)
        raise fdo.DockerOptsError("stop here")

    monkeypatch.setattr(mod, "generate", fake_generate)
    result = run_module(capsys, subnet_file="/run/flannel/subnet.env")
    assert result["failed"] and result["msg"] == "stop here"
    assert seen == {
        "subnet_file": "/run/flannel/subnet.env",
        "dest": "/run/docker_opts.env",
        "individual": True,
        "combined": True,
        "combined_key": "DOCKER_OPTS",
        "ip_masq": True,
        "routes": True,
        "write": True,
    }


def test_idempotent(capsys, paths, routes):
    assert run_paths(capsys, paths)["changed"] is True
    inode = paths[1].stat().st_ino
    second = run_paths(capsys, paths)
    assert second["changed"] is False
    assert second["docker_opts"] == " --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"
    assert paths[1].stat().st_ino == inode


def test_individual_only(capsys, paths, routes):
    result = run_paths(capsys, paths, combined_vars=False)
    assert paths[1].read_text() == "".join(EXPECTED.splitlines(True)[:3])
    assert result["docker_opts"] == " --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"


def test_combined_only_with_key(capsys, paths, routes):
    run_paths(capsys, paths, individual_vars=False, combined_key="DOCKER_NETWORK_OPTIONS")
    assert paths[1].read_text() == (
        'DOCKER_NETWORK_OPTIONS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"\n'
    )


def test_ip_masq_false_leaves_it_out(capsys, paths, routes):
    result = run_paths(capsys, paths, ip_masq=False)
    assert result["ip_masq"] is None
    assert result["docker_opts"] == " --bip=10.1.74.1/24 --mtu=1472"
    assert "ip-masq" not in paths[1].read_text()


def test_missing_mtu_and_ipmasq_give_null(capsys, paths, routes):
    paths[0].write_text("FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_IPMASQ=true\n")
    result = run_paths(capsys, paths)
    assert (result["mtu"], result["ip_masq"]) == (None, "--ip-masq=false")
    paths[0].write_text("FLANNEL_SUBNET=10.1.74.1/24\n")
    result = run_paths(capsys, paths)
    assert (result["mtu"], result["ip_masq"]) == (None, None)
    assert result["docker_opts"] == " --bip=10.1.74.1/24"


def test_check_mode_writes_nothing(capsys, paths, routes):
    result = run_paths(capsys, paths, _ansible_check_mode=True)
    assert result["changed"] is True and not paths[1].exists()
    run_paths(capsys, paths)
    result = run_paths(capsys, paths, _ansible_check_mode=True)
    assert result["changed"] is False
    paths[0].write_text(SUBNET_ENV.replace("1472", "1450"))
    result = run_paths(capsys, paths, _ansible_check_mode=True)
    assert result["changed"] is True and paths[1].read_text() == EXPECTED


def test_check_mode_still_checks_routes(capsys, paths, routes):
    routes["text"] = CONFLICT
    result = run_paths(capsys, paths, _ansible_check_mode=True)
    assert result["failed"] and "already has a route" in result["msg"]


def test_diff_mode(capsys, paths, routes):
    result = run_paths(capsys, paths, _ansible_diff=True)
    assert result["diff"] == {
        "before_header": str(paths[1]),
        "after_header": str(paths[1]),
        "before": "",
        "after": EXPECTED,
    }
    paths[0].write_text(SUBNET_ENV.replace("IPMASQ=false", "IPMASQ=true"))
    result = run_paths(capsys, paths, _ansible_diff=True, _ansible_check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["before"] == EXPECTED
    assert result["diff"]["after"] == EXPECTED.replace("ip-masq=true", "ip-masq=false")
    assert paths[1].read_text() == EXPECTED


def test_route_conflict_fails_and_writes_nothing(capsys, paths, routes):
    routes["text"] = CONFLICT
    result = run_paths(capsys, paths)
    assert result["failed"] and not paths[1].exists()
    assert result["msg"] == (
        "the routing table already has a route for the subnet 10.1.74.0/24: "
        "10.1.74.0/24 via 10.0.0.1 dev eth0"
    )


@pytest.mark.parametrize(
    "table", ["110.1.74.0/24 via 10.0.0.1 dev eth0", "10.1.74.0/24 dev docker0 scope link"]
)
def test_routes_that_do_not_conflict(capsys, paths, routes, table):
    routes["text"] = table
    assert run_paths(capsys, paths)["changed"] is True


def test_check_routes_false_skips_the_check(capsys, paths, routes):
    routes["text"] = CONFLICT
    assert run_paths(capsys, paths, check_routes=False)["changed"] is True
    assert routes["calls"] == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "subnet file {subnet} does not exist"),
        ("FLANNEL_MTU=1472\n", "{subnet}: FLANNEL_SUBNET is missing"),
        ("FLANNEL_SUBNET=10.1.74.1\n", "{subnet}: FLANNEL_SUBNET='10.1.74.1' is not an IPv4"),
        ("FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU=40\n", "{subnet}: FLANNEL_MTU='40'"),
        ("FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_IPMASQ=yes\n", "{subnet}: FLANNEL_IPMASQ='yes'"),
        ("FLANNEL_SUBNET=10.1.74.1/24\ngarbage\n", "{subnet}: line 2 is not KEY=VALUE"),
    ],
)
def test_bad_subnet_file_fails_naming_file_and_key(capsys, paths, routes, content, message):
    subnet, dest = paths
    if content is None:
        subnet.unlink()
    else:
        subnet.write_text(content)
    dest.write_text("OLD\n")
    result = run_paths(capsys, paths)
    assert result["failed"] is True
    assert message.format(subnet=subnet) in result["msg"]
    assert dest.read_text() == "OLD\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"individual_vars": False, "combined_vars": False}, "nothing to write"),
        ({"combined_key": "DOCKER-OPTS"}, "is not a shell variable name"),
        ({"combined_key": ""}, "is not a shell variable name"),
        ({"combined_key": "DOCKER_OPT_BIP"}, "clashes with an individual var"),
    ],
)
def test_bad_parameters_fail(capsys, paths, routes, args, message):
    result = run_paths(capsys, paths, **args)
    assert result["failed"] is True and message in result["msg"]
    assert not paths[1].exists()


def test_dest_equal_to_subnet_file_fails(capsys, paths, routes):
    subnet = paths[0]
    result = run_module(capsys, subnet_file=str(subnet), dest=str(subnet))
    assert result["failed"] and "would wipe it" in result["msg"]
    assert subnet.read_text() == SUBNET_ENV


def test_relative_paths_fail(capsys, paths, routes):
    result = run_module(capsys, subnet_file="subnet.env", dest=str(paths[1]))
    assert result["failed"] and "subnet file 'subnet.env' is not an absolute path" in result["msg"]
    result = run_module(capsys, subnet_file=str(paths[0]), dest="out.env")
    assert result["failed"] and "destination 'out.env' is not an absolute path" in result["msg"]


def test_unknown_parameter_fails(capsys, paths, routes):
    result = run_paths(capsys, paths, bogus=1)
    assert result["failed"] and "bogus" in result["msg"]


def test_end_to_end_through_ansible(tmp_path):
    """The real module, run by `ansible` with the repo's ansible.cfg (AnsiballZ bundling)."""
    subnet = tmp_path / "subnet.env"
    subnet.write_text(SUBNET_ENV)
    dest = tmp_path / "docker"
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "ANSIBLE_LOAD_CALLBACK_PLUGINS": "true",
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
    }
    env.pop("ANSIBLE_CONFIG", None)
    cmd = [
        str(bin_dir / "ansible"),
        "localhost",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-m",
        "mk_docker_opts",
        "-a",
        f"subnet_file={subnet} dest={dest} check_routes=false combined_key=DOCKER_NETWORK_OPTIONS",
    ]

    def run():
        done = subprocess.run(
            cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]

    first = run()
    assert first["changed"] is True
    assert first["docker_opts"] == " --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"
    assert first["bip"] == "--bip=10.1.74.1/24"
    assert dest.read_text() == EXPECTED.replace("DOCKER_OPTS=", "DOCKER_NETWORK_OPTIONS=")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert run()["changed"] is False


def test_applied_checks_the_daemon_against_the_options_just_written(
    capsys, paths, routes, monkeypatch, tmp_path
):
    from ansible.module_utils import flannel_applied_state as fas

    active = {"ActiveState": "active", "MainPID": "42", "NeedDaemonReload": "no"}
    monkeypatch.setattr(fas, "service_state", lambda unit: dict(active))
    argv = ["dockerd", "--bip=10.1.74.1/24", "--ip-masq=true", "--mtu=1472"]
    monkeypatch.setattr(fas, "process_argv", lambda pid: list(argv))
    record = tmp_path / "docker.json"
    applied = {"service": "docker", "record": str(record), "files": {"options": str(paths[1])}}
    first = run_paths(capsys, paths, applied={**applied, "adopt": True})["applied"]
    # No record yet, argv has every option: adopted, not restarted.
    assert first["adopt"] and not first["restart"] and first["args_missing"] == []
    fas.write_record(str(record), first["digests"])
    assert not run_paths(capsys, paths, applied=applied)["applied"]["restart"]
    # A lease with another MTU: the options file changes and the running argv lacks it.
    paths[0].write_text(SUBNET_ENV.replace("1472", "1450"))
    after = run_paths(capsys, paths, applied=applied)
    assert after["changed"] and after["applied"]["restart"]
    assert after["applied"]["args_missing"] == ["--mtu=1450"]
    assert "options changed" in after["applied"]["reasons"]


def test_applied_needs_service_and_record(capsys, paths, routes):
    result = run_paths(capsys, paths, applied={"files": {}})
    assert result["failed"] and result["msg"] == "mk_docker_opts: applied needs service and record"
    assert not paths[1].exists()
    assert "applied" not in run_paths(capsys, paths)
