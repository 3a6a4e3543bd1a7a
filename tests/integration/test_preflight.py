"""playbooks/preflight.yml and playbooks/plan.yml, run for real with ansible-playbook.

Every case writes its own inventory and extra-vars file. The inventory hosts sit in
TEST-NET-3 (203.0.113.0/24) with ``ansible_port: 1`` and an ``ansible_ssh_executable``
that only touches a marker file, so any attempt to reach a host is recorded (and goes
nowhere). Each case asserts the exit code, that the output names the offending key, that
the marker was never written and that ``-vvv`` shows no SSH connection being set up.

All runs are started at once in a thread pool the first time a test needs one (each
ansible-playbook takes about 2 s), and every test waits only for its own run.
"""

import os
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PREFLIGHT = "playbooks/preflight.yml"
PLAN = "playbooks/plan.yml"
SSH_MARK = "ESTABLISH SSH CONNECTION"
ADDRESSES = {"h1": "203.0.113.11", "h2": "203.0.113.12", "h3": "203.0.113.13"}


@dataclass
class Case:
    """One run: extra vars, inventory shape, and what the output must show."""

    extra_vars: dict = field(default_factory=dict)
    expect: tuple = ()
    ok: bool = False
    playbook: str = PREFLIGHT
    etcd: tuple | None = ("h1", "h2", "h3")
    nodes: tuple | None = ("h1", "h2", "h3")
    all_vars: dict = field(default_factory=dict)
    nodes_vars: dict = field(default_factory=dict)
    addresses: dict = field(default_factory=lambda: dict(ADDRESSES))
    command: str = "playbook"
    limit: str = ""


def cfg(**keys) -> dict:
    """Extra vars with a flannel_network_config: the default changed by ``keys``."""
    config = {"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}, **keys}
    return {"flannel_network_config": {k: v for k, v in config.items() if v is not None}}


CASES = {
    "valid": Case(
        ok=True,
        all_vars={"lab_cidr": "203.0.113.0/24"},
        expect=("255 available, 3 needed (group nodes): fits", "vxlan, overlay MTU 1450"),
    ),
    "docker_range_only_warns": Case(
        ok=True,
        extra_vars=cfg(Network="172.17.0.0/16"),
        expect=("WARNING: flannel_network_config.Network: 172.17.0.0/16 overlaps Docker's",),
    ),
    "subnetlen": Case(
        extra_vars=cfg(SubnetLen=31),
        expect=(
            "flannel_network_config.SubnetLen: 31 is outside what flannel accepts"
            " (must be <= 30 and >= Network prefix + 2 = 18)",
        ),
    ),
    "network_not_cidr": Case(
        extra_vars=cfg(Network="10.244.0.0"),
        expect=("flannel_network_config.Network: '10.244.0.0' has no prefix length",),
    ),
    "subnet_min_outside": Case(
        extra_vars=cfg(SubnetMin="10.245.1.0"),
        expect=("flannel_network_config.SubnetMin: 10.245.1.0 is outside Network 10.244.0.0/16",),
    ),
    "backend_missing": Case(
        extra_vars=cfg(Backend=None),
        expect=(
            "flannel_network_config.Backend: missing;"
            " without it flanneld silently uses the udp backend",
        ),
    ),
    "backend_type_unknown": Case(
        extra_vars=cfg(Backend={"Type": "vxlam"}),
        expect=("flannel_network_config.Backend.Type: 'vxlam'", "did you mean vxlan?"),
    ),
    "unknown_key": Case(
        extra_vars=cfg(SubnetLenght=24),
        expect=("flannel_network_config.SubnetLenght: unknown key", "did you mean SubnetLen?"),
    ),
    "vni_out_of_range": Case(
        extra_vars=cfg(Backend={"Type": "vxlan", "VNI": 16777216}),
        expect=("flannel_network_config.Backend.VNI: 16777216 is out of range",),
    ),
    "mtu_too_small": Case(
        extra_vars={"flannel_underlay_mtu": 100},
        expect=("flannel_underlay_mtu: 100 leaves an overlay MTU of 50 for the vxlan backend",),
    ),
    "too_few_subnets": Case(
        extra_vars=cfg(SubnetMin="10.244.1.0", SubnetMax="10.244.2.0"),
        expect=("flannel_network_config: only 2 subnet(s) of /24", "group nodes has 3 hosts"),
    ),
    "overlaps_host": Case(
        extra_vars=cfg(Network="203.0.0.0/16"),
        expect=(
            "flannel_network_config.Network: 203.0.0.0/16 contains the address of host(s)"
            " h1 (203.0.113.11)",
        ),
    ),
    "overlaps_lab_cidr": Case(
        all_vars={"lab_cidr": "10.244.0.0/24"},
        expect=("flannel_network_config.Network: 10.244.0.0/16 overlaps lab_cidr 10.244.0.0/24",),
    ),
    "overlaps_reserved": Case(
        extra_vars={"flannel_reserved_cidrs": ["10.96.0.0/12", "10.244.128.0/20"]},
        expect=("overlaps flannel_reserved_cidrs[1] 10.244.128.0/20",),
    ),
    "host_gw_not_adjacent": Case(
        extra_vars={**cfg(Backend={"Type": "host-gw"}), "flannel_underlay_prefix": 28},
        addresses={"h1": "203.0.113.11", "h2": "203.0.113.12", "h3": "203.0.113.40"},
        expect=("flannel_network_config.Backend.Type: host-gw needs every node on one L2",),
    ),
    "udp_needs_amd64": Case(
        extra_vars={**cfg(Backend={"Type": "udp"}), "flannel_arch": "arm64"},
        expect=("flannel_arch: 'arm64' cannot run the udp backend",),
    ),
    "etcd_group_missing": Case(etcd=None, expect=("groups.etcd:",)),
    "nodes_group_empty": Case(nodes=(), expect=("groups.nodes:",)),
    "etcd_prefix": Case(
        extra_vars={"flannel_etcd_prefix": "coreos.com/network/"},
        expect=("flannel_etcd_prefix: 'coreos.com/network/' is not an absolute etcd key path",),
    ),
    "tls_file_missing": Case(
        extra_vars={
            "etcd_tls_ca_cert_src": "/nonexistent/ca.pem",
            "etcd_tls_ca_key_src": "/nonexistent/ca-key.pem",
        },
        expect=(
            "etcd_tls_ca_cert_src: /nonexistent/ca.pem does not exist on the controller",
            "etcd_tls_ca_key_src: /nonexistent/ca-key.pem does not exist on the controller",
        ),
    ),
    "all_errors_at_once": Case(
        extra_vars={**cfg(SubnetLen=31), "flannel_etcd_prefix": "x"},
        expect=(
            "found 2 error(s)",
            "flannel_network_config.SubnetLen: 31",
            "flannel_etcd_prefix: 'x'",
        ),
    ),
    "config_from_nodes_group_vars": Case(
        nodes_vars=cfg(SubnetLen=31),
        expect=("flannel_network_config.SubnetLen: 31 is outside",),
    ),
    "plan_shows_every_error_then_exits_non_zero": Case(
        playbook=PLAN,
        extra_vars=cfg(SubnetLen=31),
        expect=(
            "Network:        10.244.0.0/16",
            "MTU by backend: vxlan 1450, udp 1472, host-gw 1500, ipip 1480, wireguard 1420",
            "ERROR: flannel_network_config.SubnetLen: 31",
            "The plan has 1 error(s), listed above",
        ),
    ),
    # reset.yml restarts Docker (containers stop): it asks first, --limit or not.
    "reset_asks_before_restarting_docker": Case(
        playbook="playbooks/reset.yml",
        expect=(
            "playbooks/reset.yml restarts Docker on h1, h2, h3, which stops",
            "Confirm with -e docker_reset_confirm=restart-docker",
        ),
    ),
    "reset_asks_with_a_limit_too": Case(
        playbook="playbooks/reset.yml",
        limit="h2",
        expect=("playbooks/reset.yml restarts Docker on h2, which stops",),
    ),
    # --limit without localhost would skip the preflight play: the run stops instead.
    "limit_without_localhost_stops_the_run": Case(
        ok=False,
        playbook="site",
        limit="h3",
        expect=("--limit h3 leaves out localhost, so the controller-side preflight did not run",),
    ),
    "plan_valid": Case(
        ok=True,
        playbook=PLAN,
        expect=(
            "Subnets:        255 available, 3 needed (group nodes): fits",
            "Subnet range:   10.244.1.0 .. 10.244.255.0",
        ),
    ),
    "stops_a_site_like_run": Case(
        playbook="site",
        extra_vars={"flannel_etcd_prefix": "nope"},
        expect=("flannel_etcd_prefix: 'nope'",),
    ),
    # Role variables are checked against the roles' argument specs on the controller, so a
    # wrong value for a role that site.yml starts late (docker) or enters through
    # tasks_from (flannel_verify) stops the run before etcd or flannel change a host.
    "role_variables_checked_before_any_host": Case(
        playbook="site",
        extra_vars={
            "docker_restart_batch": "two",
            "flannel_verify": "maybe",
            "etcd_log_level": "loud",
        },
        # Inventory values of the hosts; the shared role's own check on the controller
        # (flannel_common, a dependency of the preflight) sees only the controller's.
        nodes_vars={"flannel_healthz_port": "http", "docker_install_method": "snap"},
        expect=(
            "found 5 error(s)",
            "role docker: argument 'docker_restart_batch' is of type str and we were unable"
            " to convert to int",
            "role flannel_verify: argument 'flannel_verify' is of type str and we were unable"
            " to convert to bool: The value 'maybe' is not a valid boolean",
            "role etcd: value of etcd_log_level must be one of: debug, info, warn, error, panic,"
            " fatal, got: loud (on h1, h2, h3)",
            "role flannel_common: value of docker_install_method must be one of: package, repo,"
            " got: snap (on h1, h2, h3)",
            "role flannel_common: argument 'flannel_healthz_port' is of type str and we were"
            " unable to convert to int",
        ),
    ),
    # A value that names a fact cannot be templated before facts are gathered: left to the
    # role's own check, not an error.
    "role_variable_naming_a_fact_is_left_to_the_role": Case(
        ok=True,
        nodes_vars={"flannel_iface": "{{ ansible_facts['default_ipv4']['interface'] }}"},
        expect=("vxlan, overlay MTU 1450",),
    ),
    # The canary: an ad-hoc ping does try to reach the hosts, so the marker must appear.
    "canary_adhoc_ping": Case(command="adhoc"),
}


def write_inventory(case: Case, path: Path, fake_ssh: Path) -> None:
    hosts = {
        name: {"ansible_host": address, "ansible_port": 1, "ansible_connection": "ssh"}
        for name, address in case.addresses.items()
    }
    children: dict = {}
    if case.etcd is not None:
        children["etcd"] = {"hosts": {name: {} for name in case.etcd}}
    if case.nodes is not None:
        children["nodes"] = {"hosts": {name: {} for name in case.nodes}}
        if case.nodes_vars:
            children["nodes"]["vars"] = case.nodes_vars
    all_vars = {
        "ansible_ssh_executable": str(fake_ssh),
        "ansible_user": "nobody",
        "ansible_ssh_common_args": "-o ConnectTimeout=1",
        **case.all_vars,
    }
    inventory = {"all": {"vars": all_vars, "hosts": hosts, "children": children}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))


def run_case(name: str, case: Case, base: Path) -> dict:
    work = base / name
    work.mkdir()
    marker = work / "ssh-was-called"
    fake_ssh = work / "fake-ssh"
    fake_ssh.write_text(f'#!/bin/sh\necho "$@" >> {marker}\nexit 255\n')
    fake_ssh.chmod(0o755)
    inventory = work / "hosts.yml"
    write_inventory(case, inventory, fake_ssh)
    extra = work / "vars.yml"
    extra.write_text(yaml.safe_dump(case.extra_vars or {"flannel_preflight_test": True}))

    if case.command == "adhoc":
        argv = [str(BIN / "ansible"), "-i", str(inventory), "nodes", "-m", "ansible.builtin.ping"]
    else:
        playbook = case.playbook
        # Bad input runs the real site.yml: its preflight play must stop it before any
        # host is contacted.
        if playbook == "site" or (playbook == PREFLIGHT and not case.ok):
            playbook = str(ROOT / "site.yml")
        argv = [str(BIN / "ansible-playbook"), "-i", str(inventory), playbook, "-e", f"@{extra}"]
        if case.limit:
            argv += ["--limit", case.limit]
    env = {
        **os.environ,
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(work / "tmp"),
        "ANSIBLE_SSH_RETRIES": "0",
        "ANSIBLE_TIMEOUT": "2",
        "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
    }
    proc = subprocess.run(
        [*argv, "-vvv"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    return {
        "rc": proc.returncode,
        "output": proc.stdout + proc.stderr,
        "ssh_called": marker.exists(),
    }


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("preflight")
    with ThreadPoolExecutor(max_workers=max(2, (os.cpu_count() or 2) * 2)) as pool:
        futures: dict[str, Future] = {
            name: pool.submit(run_case, name, case, base) for name, case in CASES.items()
        }
        yield futures


def result_of(runs, name):
    result = runs[name].result()
    return result, CASES[name]


@pytest.mark.parametrize("name", [n for n in CASES if CASES[n].command == "playbook"])
def test_preflight_case(runs, name):
    result, case = result_of(runs, name)
    output = result["output"]
    if case.ok:
        assert result["rc"] == 0, output[-3000:]
    else:
        assert result["rc"] != 0, output[-3000:]
        assert "no host was touched" in output
    for text in case.expect:
        assert text in output, f"{text!r} not in output:\n{output[-3000:]}"
    assert not result["ssh_called"], "a connection to a host was attempted"
    assert SSH_MARK not in output


def test_canary_detects_a_real_connection_attempt(runs):
    """The marker and the -vvv check do catch a play that contacts a host."""
    result, _ = result_of(runs, "canary_adhoc_ping")
    assert result["rc"] != 0
    assert result["ssh_called"]
    assert SSH_MARK in result["output"]
