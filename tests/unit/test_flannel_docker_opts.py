"""Unit tests for module_utils/flannel_docker_opts.py: parsing, rendering, routes, writing, CLI."""

import ast
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.loader import ROOT, use_project_module_utils

SOURCE = ROOT / "module_utils" / "flannel_docker_opts.py"
# Import it the way the Ansible module does, so both test files share one module object.
use_project_module_utils()
from ansible.module_utils import flannel_docker_opts as fdo  # noqa: E402

UPSTREAM_EXAMPLE = (
    "FLANNEL_NETWORK=10.1.0.0/16\n"
    "FLANNEL_SUBNET=10.1.74.1/24\n"
    "FLANNEL_MTU=1472\n"
    "FLANNEL_IPMASQ=false\n"
)
UPSTREAM_OUTPUT = (
    'DOCKER_OPT_BIP="--bip=10.1.74.1/24"\n'
    'DOCKER_OPT_IPMASQ="--ip-masq=true"\n'
    'DOCKER_OPT_MTU="--mtu=1472"\n'
    'DOCKER_OPTS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"\n'
)


def no_routes():
    return ""


def opts(text=UPSTREAM_EXAMPLE, ip_masq=True):
    return fdo.build_docker_opts(
        fdo.parse_subnet_env(text, "/x/subnet.env"), "/x/subnet.env", ip_masq
    )


@pytest.fixture
def subnet(tmp_path):
    path = tmp_path / "subnet.env"
    path.write_text(UPSTREAM_EXAMPLE)
    return path


# --- the implementation is stdlib only ------------------------------------------------------


def test_source_imports_no_ansible():
    tree = ast.parse(SOURCE.read_text())
    names = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    names += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    assert names and not [name for name in names if name.split(".")[0] == "ansible"]


# --- parsing ---------------------------------------------------------------------------------


def test_parse_skips_blanks_and_comments_and_unquotes():
    text = '\n# comment\n  # indented comment\nA=1\nB="two words"\nC=\'3\'\n D = 4 \nE=\nF="\nA=5\n'
    assert fdo.parse_subnet_env(text, "f") == {
        "A": "5",
        "B": "two words",
        "C": "3",
        "D": "4",
        "E": "",
        "F": '"',
    }


@pytest.mark.parametrize("line", ["JUNK", "=1", "1A=2", "A B=3"])
def test_parse_rejects_lines_that_are_not_assignments(line):
    with pytest.raises(fdo.DockerOptsError, match=r"^/etc/s.env: line 2 is not KEY=VALUE"):
        fdo.parse_subnet_env(f"A=1\n{line}\n", "/etc/s.env")


def test_read_missing_file_names_the_file(tmp_path):
    missing = tmp_path / "nope.env"
    with pytest.raises(fdo.DockerOptsError, match=f"subnet file {missing} does not exist"):
        fdo.read_subnet_env(str(missing))


def test_read_unreadable_file_names_the_file(tmp_path):
    with pytest.raises(fdo.DockerOptsError, match=f"cannot read subnet file {tmp_path}"):
        fdo.read_subnet_env(str(tmp_path))  # a directory
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(fdo.DockerOptsError, match=f"cannot read subnet file {binary}"):
        fdo.read_subnet_env(str(binary))


# --- validation ------------------------------------------------------------------------------


def test_quoted_values_are_accepted():
    text = 'FLANNEL_SUBNET="10.1.74.1/24"\nFLANNEL_MTU="1472"\nFLANNEL_IPMASQ="false"\n'
    assert fdo.render(opts(text)) == UPSTREAM_OUTPUT


@pytest.mark.parametrize("text", ["FLANNEL_MTU=1472\n", "FLANNEL_SUBNET=\n", 'FLANNEL_SUBNET=""\n'])
def test_missing_subnet(text):
    with pytest.raises(fdo.DockerOptsError, match=r"^/x/subnet.env: FLANNEL_SUBNET is missing"):
        opts(text)


@pytest.mark.parametrize(
    "value",
    [
        "10.1.74.1",
        "10.1.74.1/",
        "10.1.74.1/33",
        "10.1.74.1/255.255.255.0",
        "10.1.74/24",
        "fd00::1/64",
        "banana",
        "10.1.74.1/24 ",
        "010.1.74.1/24",
        "10.1.74.1/２４",
    ],
)
def test_bad_subnet(value):
    with pytest.raises(fdo.DockerOptsError, match=r"^/x/subnet.env: FLANNEL_SUBNET="):
        opts(f"FLANNEL_SUBNET='{value}'\n")


@pytest.mark.parametrize("value", ["0", "67", "65536", "1472.0", "-1", "abc", "1e3", "１４７２"])
def test_bad_mtu(value):
    with pytest.raises(fdo.DockerOptsError, match=r"^/x/subnet.env: FLANNEL_MTU=.* 68 to 65535"):
        opts(f"FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU={value}\n")


@pytest.mark.parametrize("value", ["68", "65535", "1450"])
def test_mtu_bounds(value):
    assert opts(f"FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU={value}\n").mtu == f"--mtu={value}"


@pytest.mark.parametrize("ip_masq", [True, False])
@pytest.mark.parametrize("value", ["True", "TRUE", "1", "yes", "false ", "no"])
def test_bad_ipmasq_is_an_error_even_with_ip_masq_off(value, ip_masq):
    with pytest.raises(fdo.DockerOptsError, match=r"^/x/subnet.env: FLANNEL_IPMASQ="):
        opts(f"FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_IPMASQ='{value}'\n", ip_masq=ip_masq)


# --- rendering -------------------------------------------------------------------------------


def test_upstream_example_byte_for_byte():
    assert fdo.render(opts()) == UPSTREAM_OUTPUT
    assert fdo.render(opts()).encode() == UPSTREAM_OUTPUT.encode()


@pytest.mark.parametrize(("flannel", "docker"), [("true", "false"), ("false", "true")])
def test_ip_masq_is_inverted(flannel, docker):
    result = opts(f"FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_IPMASQ={flannel}\n")
    assert result.ip_masq == f"--ip-masq={docker}"


def test_ip_masq_off_leaves_it_out():
    result = opts(ip_masq=False)
    assert result.ip_masq is None
    assert fdo.render(result) == (
        'DOCKER_OPT_BIP="--bip=10.1.74.1/24"\n'
        'DOCKER_OPT_MTU="--mtu=1472"\n'
        'DOCKER_OPTS=" --bip=10.1.74.1/24 --mtu=1472"\n'
    )


def test_missing_mtu_and_ipmasq_drop_their_options():
    for text in (
        "FLANNEL_SUBNET=10.1.74.1/24\n",
        "FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU=\nFLANNEL_IPMASQ=\n",
    ):
        result = opts(text)
        assert (result.mtu, result.ip_masq) == (None, None)
        assert fdo.render(result) == (
            'DOCKER_OPT_BIP="--bip=10.1.74.1/24"\nDOCKER_OPTS=" --bip=10.1.74.1/24"\n'
        )


def test_individual_only_combined_only_and_key():
    assert fdo.render(opts(), combined=False) == "".join(UPSTREAM_OUTPUT.splitlines(True)[:3])
    assert fdo.render(opts(), individual=False, combined_key="DOCKER_NETWORK_OPTIONS") == (
        'DOCKER_NETWORK_OPTIONS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"\n'
    )


def test_render_needs_something_to_write():
    with pytest.raises(fdo.DockerOptsError, match="nothing to write"):
        fdo.render(opts(), individual=False, combined=False)


@pytest.mark.parametrize("key", ["", "1ABC", "A-B", "A B", "A=B", "ÄB", "A\n"])
def test_bad_combined_key(key):
    with pytest.raises(fdo.DockerOptsError, match="is not a shell variable name"):
        fdo.render(opts(), combined_key=key)


@pytest.mark.parametrize("key", ["_", "a", "DOCKER_OPTS_2", "x_Y9"])
def test_good_combined_key(key):
    assert fdo.render(opts(), individual=False, combined_key=key).startswith(f'{key}=" --bip')


def test_combined_key_may_not_clash_with_an_individual_var():
    with pytest.raises(fdo.DockerOptsError, match="clashes"):
        fdo.render(opts(), combined_key="DOCKER_OPT_MTU")
    assert fdo.render(opts(), individual=False, combined_key="DOCKER_OPT_MTU")


# --- route check -----------------------------------------------------------------------------

NET = opts().network


def test_network_is_the_subnets_network():
    assert str(NET) == "10.1.74.0/24"


@pytest.mark.parametrize(
    "routes",
    [
        "10.1.74.0/24 via 10.0.0.1 dev eth0",
        "default via 10.0.0.1 dev eth0\n10.1.74.0/24 via 10.0.0.2 dev eth0 proto static\n",
        "10.1.74.0/24 via 10.1.74.0 dev flannel.1 onlink",
        "unicast 10.1.74.0/24 via 10.0.0.1 dev eth0",
        "10.1.74.0/24 proto static\n\tnexthop via 10.0.0.1 dev eth0 weight 1\n"
        "\tnexthop via 10.0.0.2 dev eth1 weight 1",
    ],
)
def test_route_conflict_is_found(routes):
    with pytest.raises(
        fdo.DockerOptsError, match="already has a route for the subnet 10.1.74.0/24"
    ):
        fdo.check_routes(NET, lambda: routes)


@pytest.mark.parametrize(
    "routes",
    [
        "",
        "110.1.74.0/24 via 10.0.0.1 dev eth0",
        "10.1.74.0/25 via 10.0.0.1 dev eth0",
        "10.1.74.0/240 via 10.0.0.1 dev eth0",
        "10.1.74.0/24 dev docker0 proto kernel scope link src 10.1.74.1",
        "blackhole 10.1.74.0/24",
        "10.1.0.0/16 via 10.0.0.1 dev eth0\n10.1.75.0/24 via 10.1.75.0 dev flannel.1 onlink",
        "default via 10.1.74.0 dev eth0",
    ],
)
def test_no_route_conflict(routes):
    fdo.check_routes(NET, lambda: routes)
    assert fdo.find_conflicting_route(NET, routes) is None


def test_find_conflicting_route_returns_the_route():
    routes = "default via 10.0.0.1 dev eth0\n10.1.74.0/24 via 10.0.0.9 dev eth0\n"
    assert fdo.find_conflicting_route(NET, routes) == "10.1.74.0/24 via 10.0.0.9 dev eth0"


def test_list_routes_runs_ip(monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        return subprocess.CompletedProcess(
            cmd, 0, stdout="10.1.74.0/24 via 1.2.3.4 dev x\n", stderr=""
        )

    monkeypatch.setattr(fdo.subprocess, "run", fake_run)
    assert fdo.list_routes() == "10.1.74.0/24 via 1.2.3.4 dev x\n"
    assert calls == [["ip", "-4", "route", "show"]]
    with pytest.raises(fdo.DockerOptsError, match="already has a route"):
        fdo.check_routes(NET)  # the default lister


def test_list_routes_failures(monkeypatch):
    def failing(cmd, **kwargs):
        return subprocess.CompletedProcess(cmd, 1, stdout="", stderr="RTNETLINK answers: nope\n")

    monkeypatch.setattr(fdo.subprocess, "run", failing)
    with pytest.raises(fdo.DockerOptsError, match="'ip -4 route show' failed: RTNETLINK"):
        fdo.list_routes()

    def missing(cmd, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", "ip")

    monkeypatch.setattr(fdo.subprocess, "run", missing)
    with pytest.raises(fdo.DockerOptsError, match="cannot run 'ip -4 route show'"):
        fdo.list_routes()


# --- writing ---------------------------------------------------------------------------------


def test_generate_writes_atomically_with_mode_0644(subnet, tmp_path, monkeypatch):
    dest = tmp_path / "docker_opts.env"
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((Path(src).parent, Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(fdo.os, "replace", spy)
    old_umask = os.umask(0o077)
    try:
        outcome = fdo.generate(str(subnet), str(dest), route_lister=no_routes)
    finally:
        os.umask(old_umask)
    assert outcome.changed and outcome.before is None and outcome.after == UPSTREAM_OUTPUT
    assert dest.read_bytes() == UPSTREAM_OUTPUT.encode()
    assert stat.S_IMODE(dest.stat().st_mode) == 0o644
    assert replaced == [(tmp_path, dest)]  # the temp file lives next to dest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docker_opts.env", "subnet.env"]


def test_generate_is_idempotent(subnet, tmp_path):
    dest = tmp_path / "docker_opts.env"
    assert fdo.generate(str(subnet), str(dest), route_lister=no_routes).changed
    inode = dest.stat().st_ino
    again = fdo.generate(str(subnet), str(dest), route_lister=no_routes)
    assert not again.changed and again.before == again.after == UPSTREAM_OUTPUT
    assert dest.stat().st_ino == inode  # not rewritten


def test_generate_replaces_different_content(subnet, tmp_path):
    dest = tmp_path / "docker_opts.env"
    dest.write_text(UPSTREAM_OUTPUT.rstrip("\n"))  # only the trailing newline differs
    outcome = fdo.generate(str(subnet), str(dest), route_lister=no_routes)
    assert outcome.changed and outcome.before == UPSTREAM_OUTPUT.rstrip("\n")
    assert dest.read_text() == UPSTREAM_OUTPUT


def test_generate_without_write_touches_nothing(subnet, tmp_path):
    dest = tmp_path / "docker_opts.env"
    outcome = fdo.generate(str(subnet), str(dest), route_lister=no_routes, write=False)
    assert outcome.changed and not dest.exists()


def test_generate_route_conflict_writes_nothing(subnet, tmp_path):
    dest = tmp_path / "docker_opts.env"
    with pytest.raises(fdo.DockerOptsError, match="already has a route"):
        fdo.generate(str(subnet), str(dest), route_lister=lambda: "10.1.74.0/24 via 1.1.1.1 dev e")
    assert not dest.exists()
    fdo.generate(str(subnet), str(dest), routes=False, route_lister=pytest.fail)
    assert dest.read_text() == UPSTREAM_OUTPUT


def test_generate_bad_input_leaves_dest_alone(tmp_path):
    subnet = tmp_path / "subnet.env"
    subnet.write_text("FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_IPMASQ=maybe\n")
    dest = tmp_path / "docker_opts.env"
    dest.write_text("OLD\n")
    with pytest.raises(fdo.DockerOptsError, match=f"{subnet}: FLANNEL_IPMASQ='maybe'"):
        fdo.generate(str(subnet), str(dest), route_lister=no_routes)
    assert dest.read_text() == "OLD\n"


def test_generate_refuses_dest_equal_to_subnet_file(subnet, tmp_path):
    link = tmp_path / "link.env"
    link.symlink_to(subnet)
    for dest in (subnet, tmp_path / "." / "subnet.env", link):
        with pytest.raises(fdo.DockerOptsError, match="would wipe it"):
            fdo.generate(str(subnet), str(dest), route_lister=no_routes)
    assert subnet.read_text() == UPSTREAM_EXAMPLE


@pytest.mark.parametrize(("subnet_file", "dest"), [("subnet.env", "/tmp/x"), ("/a/s.env", "out")])
def test_generate_refuses_relative_paths(subnet_file, dest):
    with pytest.raises(fdo.DockerOptsError, match="is not an absolute path"):
        fdo.generate(subnet_file, dest, route_lister=no_routes)


def test_write_into_missing_directory_fails(subnet, tmp_path):
    with pytest.raises(fdo.DockerOptsError, match="cannot create a temporary file"):
        fdo.generate(str(subnet), str(tmp_path / "no" / "dir.env"), route_lister=no_routes)


def test_unreadable_dest_fails(subnet, tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(fdo.DockerOptsError, match="cannot read destination"):
        fdo.generate(str(subnet), str(tmp_path / "d"), route_lister=no_routes)


def test_failed_replace_cleans_up(subnet, tmp_path, monkeypatch):
    def broken(src, dst):
        raise OSError(5, "I/O error")

    monkeypatch.setattr(fdo.os, "replace", broken)
    with pytest.raises(fdo.DockerOptsError, match="cannot write .*I/O error"):
        fdo.generate(str(subnet), str(tmp_path / "out.env"), route_lister=no_routes)
    assert [p.name for p in tmp_path.iterdir()] == ["subnet.env"]


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(subnet, tmp_path, monkeypatch):
    """Run main() with the route check's `ip` replaced by an empty table."""
    monkeypatch.setattr(fdo, "list_routes", no_routes)
    dest = tmp_path / "out.env"

    def run(*args):
        return fdo.main(["-f", str(subnet), "-d", str(dest), *args]), dest

    return run


def test_cli_defaults_write_both(cli):
    code, dest = cli()
    assert code == 0 and dest.read_text() == UPSTREAM_OUTPUT


def test_cli_individual_only(cli):
    code, dest = cli("-i")
    assert code == 0 and dest.read_text() == "".join(UPSTREAM_OUTPUT.splitlines(True)[:3])


def test_cli_combined_only_with_key_as_in_the_systemd_unit(cli):
    code, dest = cli("-k", "DOCKER_NETWORK_OPTIONS", "-c")
    assert code == 0
    assert dest.read_text() == (
        'DOCKER_NETWORK_OPTIONS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"\n'
    )


def test_cli_both_flags_and_no_ip_masq(cli):
    code, dest = cli("-i", "-c", "-m")
    assert code == 0
    assert "ip-masq" not in dest.read_text() and len(dest.read_text().splitlines()) == 3


def test_cli_route_conflict_and_skip(cli, monkeypatch, capsys):
    monkeypatch.setattr(fdo, "list_routes", lambda: "10.1.74.0/24 via 10.0.0.1 dev eth0\n")
    code, dest = cli()
    assert code == 1 and not dest.exists()
    assert "already has a route for the subnet 10.1.74.0/24" in capsys.readouterr().err
    code, dest = cli("--no-check-routes")
    assert code == 0 and dest.read_text() == UPSTREAM_OUTPUT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-k", "BAD-KEY"], "not a shell variable name"),
        (["-f", "/nonexistent/s.env"], "does not exist"),
    ],
)
def test_cli_errors_go_to_stderr_with_exit_1(cli, capsys, args, message):
    code, dest = cli(*args)
    captured = capsys.readouterr()
    assert code == 1 and not dest.exists() and captured.out == ""
    assert captured.err.startswith("flannel_docker_opts.py: error: ") and message in captured.err


def test_cli_usage_error_exits_1_and_help_0(capsys):
    assert fdo.main(["-x"]) == 1
    assert "usage:" in capsys.readouterr().err
    assert fdo.main(["-h"]) == 0
    assert "--no-check-routes" in capsys.readouterr().out


def test_cli_as_a_script_with_plain_python(subnet, tmp_path):
    """The file runs as a script, isolated (-I): no project dir or PYTHONPATH on sys.path."""
    dest = tmp_path / "docker"
    cmd = [sys.executable, "-I", str(SOURCE), "-f", str(subnet), "-d", str(dest)]
    done = subprocess.run(
        [*cmd, "-k", "DOCKER_NETWORK_OPTIONS", "-c", "--no-check-routes"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert dest.read_text().startswith('DOCKER_NETWORK_OPTIONS=" --bip=10.1.74.1/24')
    subnet.write_text("FLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU=9\n")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 1 and f"{subnet}: FLANNEL_MTU='9'" in done.stderr
