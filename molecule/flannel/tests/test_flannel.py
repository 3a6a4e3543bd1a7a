"""flanneld on real lab hosts: leases in etcd, subnet.env, routes, overlay traffic, restarts."""

import base64
import ipaddress
import json
import os
import socket
import time

import pytest
import testinfra
import yaml

from tests.lab_helpers import docker_opts_file, subnet_env

PREFIX = "/coreos.com/network"
BACKEND = os.environ.get("FLANNEL_BACKEND", "vxlan")
MTU = {"vxlan": 1450, "udp": 1472, "host-gw": 1500, "ipip": 1480, "wireguard": 1420}[BACKEND]
INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
ETCDCTL = (
    "ETCDCTL_API=3 etcdctl --endpoints=https://127.0.0.1:2379 --cacert=/etc/flannel/etcd-ca.crt "
    "--cert=/etc/flannel/etcd-client.crt --key=/etc/flannel/etcd-client.key"
)


def addresses() -> dict[str, str]:
    with open(INVENTORY) as fh:
        hosts = yaml.safe_load(fh)["all"]["hosts"]
    return {name: v["ansible_host"] for name, v in hosts.items()}


def node(name: str):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def leases(h) -> dict[str, dict]:
    out = h.check_output(f"{ETCDCTL} get --prefix {PREFIX}/subnets/ -w json")
    kvs = json.loads(out).get("kvs", [])
    return {
        base64.b64decode(kv["key"]).decode().rsplit("/", 1)[1]: json.loads(
            base64.b64decode(kv["value"])
        )
        for kv in kvs
    }


def own_subnet(h) -> ipaddress.IPv4Network:
    return ipaddress.ip_interface(subnet_env(h)["FLANNEL_SUBNET"]).network


def test_lease_in_etcd_has_own_public_ip(host):
    me = host.backend.get_hostname()
    key = str(own_subnet(host)).replace("/", "-")
    lease = leases(host)[key]
    assert lease["PublicIP"] == addresses()[me]


def test_every_node_holds_one_lease_with_a_unique_public_ip(host):
    found = leases(host)
    public = sorted(v["PublicIP"] for v in found.values())
    assert public == sorted(addresses().values()), found


def test_subnet_env_agrees_with_config_and_lease(host):
    env = subnet_env(host)
    assert env["FLANNEL_NETWORK"] == "10.244.0.0/16"
    iface = ipaddress.ip_interface(env["FLANNEL_SUBNET"])
    assert iface.network.prefixlen == 24 and iface.ip == iface.network.network_address + 1
    assert iface.network.subnet_of(ipaddress.ip_network("10.244.0.0/16"))
    assert env["FLANNEL_MTU"] == str(MTU)
    assert env["FLANNEL_IPMASQ"] == "true"


def test_docker_options_agree_with_subnet_env(host):
    env = subnet_env(host)
    want = (
        f'DOCKER_NETWORK_OPTIONS=" --bip={env["FLANNEL_SUBNET"]} --ip-masq=false'
        f' --mtu={env["FLANNEL_MTU"]}"\n'
    )
    assert host.file(docker_opts_file(host)).content_string == want


def test_routes_to_every_other_node(host):
    me = host.backend.get_hostname()
    mine = own_subnet(host)
    others = [v for v in leases(host).items() if v[1]["PublicIP"] != addresses()[me]]
    assert len(others) == len(addresses()) - 1
    if BACKEND == "vxlan":
        assert host.interface("flannel.1").exists
        assert host.file("/sys/class/net/flannel.1/mtu").content_string.strip() == str(MTU)
    for key, lease in others:
        net = key.replace("-", "/")
        assert net != str(mine)
        route = host.check_output(f"ip -4 route show {net}")
        if BACKEND == "vxlan":
            assert "dev flannel.1" in route, route
        elif BACKEND == "host-gw":
            assert f"via {lease['PublicIP']}" in route, route
        elif BACKEND in ("ipip", "wireguard"):  # only on kernels that have them (conftest)
            device = {"ipip": "flannel.ipip", "wireguard": "flannel-wg"}[BACKEND]
            first = ipaddress.ip_network(net).network_address + 1
            assert f"dev {device}" in host.check_output(f"ip -4 route get {first}")
        else:  # udp: one route for the whole network through the tun device
            assert "dev flannel0" in host.check_output("ip -4 route show 10.244.0.0/16")


@pytest.fixture(scope="module")
def endpoints():
    """On every node, a veth end holding the first address of its flannel subnet."""
    made = {}
    for name in addresses():
        h = node(name)
        ip = subnet_env(h)["FLANNEL_SUBNET"]
        h.run("ip link del fltest0")
        h.check_output(
            "ip link add fltest0 type veth peer name fltest1 && ip addr add %s dev fltest0"
            " && ip link set fltest0 up && ip link set fltest1 up",
            ip,
        )
        made[name] = ip.split("/")[0]
    yield made
    for name in made:
        node(name).run("ip link del fltest0")


def test_reaches_every_other_node_over_the_overlay(host, endpoints):
    me = host.backend.get_hostname()
    for name, ip in endpoints.items():
        if name == me:
            continue
        cmd = host.run("ping -c 2 -W 2 %s", ip)
        assert cmd.rc == 0, f"{me} -> {name} ({ip}) over {BACKEND}: {cmd.stdout}{cmd.stderr}"


def test_restart_keeps_subnet(host):
    before = subnet_env(host)["FLANNEL_SUBNET"]
    host.check_output("systemctl restart flanneld")
    assert host.service("flanneld").is_running
    assert subnet_env(host)["FLANNEL_SUBNET"] == before


def test_reboot_keeps_every_subnet():
    """Reboot one lab host; once it is back, every node has the subnet it had."""
    before = {name: subnet_env(node(name))["FLANNEL_SUBNET"] for name in addresses()}
    victim = sorted(addresses())[-1]
    boot_id = node(victim).file("/proc/sys/kernel/random/boot_id").content_string
    node(victim).check_output("systemd-run --on-active=1 systemctl reboot")
    deadline, state = time.monotonic() + 180, "no answer"
    while time.monotonic() < deadline:
        time.sleep(3)
        try:
            with socket.create_connection((addresses()[victim], 22), timeout=2):
                pass
            h = node(victim)
            rebooted = h.file("/proc/sys/kernel/random/boot_id").content_string != boot_id
            state = h.run("systemctl is-active flanneld").stdout.strip()
        except Exception as exc:  # noqa: BLE001 - the host is going down or coming up
            state = str(exc)
            continue
        if rebooted and state == "active":
            break
    else:
        raise AssertionError(f"{victim} did not come back with flanneld active: {state}")
    after = {name: subnet_env(node(name))["FLANNEL_SUBNET"] for name in addresses()}
    assert after == before
