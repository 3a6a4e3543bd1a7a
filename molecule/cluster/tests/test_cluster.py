"""After site.yml: Docker on every node sits on its flannel subnet and containers reach
the other nodes' containers; the verify play's report says every pair passed."""

import ipaddress
import json
import os

import yaml

from tests.lab_helpers import docker_opts_file, shared_defaults, subnet_env, subnet_file

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
REPORT = os.path.join(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"], "overlay.json")


def test_report_says_every_ordered_pair_passed():
    with open(REPORT) as fh:
        report = json.load(fh)
    with open(INVENTORY) as fh:
        hosts = yaml.safe_load(fh)["all"]["hosts"]
    n = len(hosts)
    assert report["ok"] is True, report["problems"]
    assert report["verdict"] == "PASS", report["summary"]
    assert report["problems"] == [] and report["not_checked"] == []
    assert len(report["nodes"]) == n
    assert len(report["pairs"]) == n * (n - 1)
    assert all(p["ping_ok"] and p["tcp_ok"] and p["rtt_ms"] is not None for p in report["pairs"])
    assert len({n["subnet"] for n in report["nodes"]}) == n


def test_docker_runs_with_the_flannel_options(host):
    env = subnet_env(host)
    assert host.service("docker").is_running
    args = host.check_output("tr '\\0' ' ' < /proc/$(pidof dockerd)/cmdline")
    assert f"--bip={env['FLANNEL_SUBNET']}" in args
    assert f"--mtu={env['FLANNEL_MTU']}" in args
    assert "--ip-masq=false" in args
    assert env["FLANNEL_SUBNET"] in host.check_output("ip -4 -o addr show dev docker0")


def test_container_reaches_other_nodes_docker0(host):
    """Independent of the verify play's probes: a fresh container pings every other node's
    docker0 (the first address of its lease, from the report) with payloads filling the MTU."""
    with open(REPORT) as fh:
        nodes = json.load(fh)["nodes"]
    me = host.backend.get_hostname()
    others = [str(ipaddress.ip_interface(n["subnet"]).ip) for n in nodes if n["host"] != me]
    with open(INVENTORY) as fh:
        assert len(others) == len(yaml.safe_load(fh)["all"]["hosts"]) - 1, nodes
    mtu = int(subnet_env(host)["FLANNEL_MTU"])
    for ip in sorted(others):
        cmd = host.run(
            "docker run --rm flannel-probe:local ping -c 2 -W 2 -s %s %s", str(mtu - 28), ip
        )
        assert cmd.rc == 0, f"container on {me} -> {ip}: {cmd.stdout}{cmd.stderr}"


def test_report_names_the_configured_backend():
    """The backend of each node comes from its own lease, the config's from <prefix>/config."""
    with open(REPORT) as fh:
        report = json.load(fh)
    want = os.environ.get("FLANNEL_BACKEND", "vxlan")
    assert {n["backend"] for n in report["nodes"]} == {want}
    assert report["config"]["backend"] == want


def test_report_saw_routes_health_and_leases_on_every_node():
    with open(REPORT) as fh:
        report = json.load(fh)
    for node in report["nodes"]:
        assert node["status"] == "ok", node
        assert node["routes"] == "ok", node
        assert node["healthz"] == 200, node
        assert node["lease_name"] in report["leases"], node
        assert node["docker0_mtu"] == node["mtu"], node


def test_lease_in_etcd_matches_what_the_node_runs(host):
    """Independent of the report's reading: this node's lease in the report has its
    subnet file's subnet, and its routes to the other nodes go the backend's way."""
    with open(REPORT) as fh:
        report = json.load(fh)
    me = host.backend.get_hostname()
    node = next(n for n in report["nodes"] if n["host"] == me)
    assert node["subnet"] == subnet_env(host)["FLANNEL_SUBNET"]
    routes = host.check_output("ip -4 -o route")
    for other in report["nodes"]:
        if other["host"] == me:
            continue
        net = str(ipaddress.ip_interface(other["subnet"]).network)
        if node["backend"] == "udp":
            assert net not in routes, routes
        else:
            assert net in routes, routes


def test_every_part_uses_the_configured_lease_and_options_files(host):
    """flannel_subnet_file and flannel_docker_opts_file (moved in make test's bookworm run):
    flanneld writes the lease there, its unit's helper and the docker role write the options
    there, docker.service reads them from there; nothing is left at a path not asked for."""
    lease, opts = subnet_file(host), docker_opts_file(host)
    assert host.file(lease).is_file
    assert host.file(opts).content_string.startswith("DOCKER_NETWORK_OPTIONS=")
    flanneld = host.check_output("tr '\\0' ' ' < /proc/$(pidof flanneld)/cmdline")
    assert f"-subnet-file={lease}" in flanneld
    unit = host.check_output("systemctl cat flanneld.service")
    assert f"-f {lease} -d {opts} " in unit
    env_files = host.check_output("systemctl show -P EnvironmentFiles docker.service")
    assert opts in env_files
    defaults = shared_defaults()
    for asked, default in (
        (lease, defaults["flannel_subnet_file"]),
        (opts, defaults["flannel_docker_opts_file"]),
    ):
        if asked != default:
            assert not host.file(default).exists, f"{default} exists, but {asked} was asked for"
