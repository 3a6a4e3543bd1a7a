"""roles/docker: the drop-in, the options Docker runs with, and a container on the subnet."""

import ipaddress

from tests.lab_helpers import docker_opts_file, subnet_env


def test_dropin_rewires_docker_service(host):
    dropin = host.file("/etc/systemd/system/docker.service.d/10-flannel.conf").content_string
    # Wants=, not Requires=: a flanneld restart must not restart dockerd.
    assert "Wants=flanneld.service" in dropin and "After=flanneld.service" in dropin
    assert not [line for line in dropin.splitlines() if line.startswith("Requires=")]
    assert f"EnvironmentFile={docker_opts_file(host)}" in dropin
    lines = [line for line in dropin.splitlines() if line.startswith("ExecStart=")]
    assert lines[0] == "ExecStart=" and lines[1].endswith(" $DOCKER_NETWORK_OPTIONS")
    packaged = host.check_output(
        "systemctl cat docker.service | sed -n 's/^ExecStart=\\(.\\+\\)/\\1/p' | head -1"
    )
    assert lines[1] == f"ExecStart={packaged} $DOCKER_NETWORK_OPTIONS"


def test_docker_options_file_matches_the_lease(host):
    env = subnet_env(host)
    assert host.file(docker_opts_file(host)).content_string == (
        f'DOCKER_NETWORK_OPTIONS=" --bip={env["FLANNEL_SUBNET"]} --ip-masq=false'
        f' --mtu={env["FLANNEL_MTU"]}"\n'
    )


def test_dockerd_runs_with_the_options(host):
    env = subnet_env(host)
    args = host.check_output("tr '\\0' ' ' < /proc/$(pidof dockerd)/cmdline")
    for opt in (f"--bip={env['FLANNEL_SUBNET']}", f"--mtu={env['FLANNEL_MTU']}", "--ip-masq=false"):
        assert opt in args


def test_container_gets_an_address_from_the_flannel_subnet(host):
    env = subnet_env(host)
    net = ipaddress.ip_interface(env["FLANNEL_SUBNET"]).network
    host.run("ip -4 -o addr show dev docker0").stdout.index(env["FLANNEL_SUBNET"])
    image = "flannel-probe:local"
    if host.run("docker image inspect %s", image).rc != 0:
        host.check_output(
            "mkdir -p /tmp/probe/bin && cp /bin/busybox /tmp/probe/bin/ && "
            "ln -sf busybox /tmp/probe/bin/sh && ln -sf busybox /tmp/probe/bin/ip && "
            "tar -C /tmp/probe -c . | docker import - %s",
            image,
        )
    out = host.check_output("docker run --rm %s /bin/ip -4 -o addr show dev eth0", image)
    addr = ipaddress.ip_interface(out.split()[3])
    assert addr.ip in net
    mtu = host.check_output("docker run --rm %s /bin/busybox cat /sys/class/net/eth0/mtu", image)
    assert mtu == env["FLANNEL_MTU"]
