"""The lab's hosts are real: reachable by Ansible, systemd inside, networked, fed by apt."""

import os

import yaml

LAB_REPO_PORT = 8089


def lab_addresses() -> dict[str, str]:
    with open(os.environ["MOLECULE_INVENTORY_FILE"]) as fh:
        inventory = yaml.safe_load(fh)
    hosts = inventory["all"]["hosts"]
    return {name: vars_["ansible_host"] for name, vars_ in hosts.items()}


def test_ansible_reaches_host(host):
    assert host.ansible("ansible.builtin.ping", check=False)["ping"] == "pong"


def test_systemd_is_pid1_and_running(host):
    assert host.file("/proc/1/exe").linked_to.endswith("/systemd")
    state = host.run("systemctl is-system-running --wait")
    assert state.stdout.strip() == "running", host.run("systemctl --failed").stdout


def test_host_has_own_address_and_no_route_off_the_lab(host):
    name = host.backend.get_hostname()
    ip = lab_addresses()[name]
    assert ip in host.check_output("ip -4 -o addr show dev host0")
    assert "default" not in host.check_output("ip -4 route")


def test_pings_every_peer_over_lab_network(host):
    me = host.backend.get_hostname()
    peers = {name: ip for name, ip in lab_addresses().items() if name != me}
    assert len(peers) >= 2
    for name, ip in peers.items():
        cmd = host.run("ping -c 2 -W 2 %s", ip)
        assert cmd.rc == 0, f"{me} -> {name} ({ip}): {cmd.stdout}{cmd.stderr}"


def test_package_came_from_lab_repository(host):
    assert host.package("busybox-static").is_installed
    policy = host.check_output("apt-cache policy busybox-static")
    assert f":{LAB_REPO_PORT}/" in policy
    sources = host.file("/etc/apt/sources.list").content_string.strip().splitlines()
    assert len(sources) == 1 and "[trusted=yes]" in sources[0]


def test_tun_device_for_udp_backend(host):
    assert host.check_output("stat -c %F /dev/net/tun") == "character special file"
