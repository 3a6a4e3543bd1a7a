"""Unit tests of the lab tool's pure parts: addressing, collision checks, generated files."""

import dataclasses
import ipaddress
from pathlib import Path

import pytest
import yaml

from lab import cli, config, hosts, images, inventory, proc


@pytest.fixture
def cfg(tmp_path: Path) -> config.Config:
    return config.Config.from_env(
        {
            "FLAB_STATE": str(tmp_path / "state"),
            "FLAB_CACHE": str(tmp_path / "cache"),
            "FLAB_INVENTORY": str(tmp_path / "hosts.yml"),
        }
    )


def test_defaults_and_addressing(cfg):
    assert cfg.cidr == ipaddress.IPv4Network("10.77.0.0/24")
    assert str(cfg.gateway) == "10.77.0.1"
    assert [cfg.host_name(i) for i in (1, 2, 3)] == ["flab1", "flab2", "flab3"]
    assert [str(cfg.host_ip(i)) for i in (1, 12)] == ["10.77.0.11", "10.77.0.22"]
    assert str(cfg.state) in cfg.markers[0]


def test_env_overrides_and_bad_values():
    cfg = config.Config.from_env({"FLAB_CIDR": "10.99.0.0/22", "FLAB_PORT": "9000"})
    assert str(cfg.gateway) == "10.99.0.1" and cfg.port == 9000
    with pytest.raises(config.LabError, match="FLAB_CIDR"):
        config.Config.from_env({"FLAB_CIDR": "10.99.0.300/24"})
    with pytest.raises(config.LabError, match="too small"):
        config.Config.from_env({"FLAB_CIDR": "10.99.0.0/28"})


def test_overlaps_finds_only_real_overlaps():
    net = ipaddress.IPv4Network("10.77.0.0/24")
    found = config.overlaps(
        net, ["10.0.0.0/8", "10.78.0.0/24", "10.77.0.5/32", "fd00::/64", "junk"]
    )
    assert found == ["10.0.0.0/8", "10.77.0.5/32"]


def test_collision_with_controller_network_is_refused(cfg):
    with pytest.raises(config.LabError, match=r"controller's own networks 10\.77\.0\.0/16"):
        config.check_collisions(cfg, ["192.0.2.0/24", "10.77.0.0/16"])
    config.check_collisions(cfg, ["192.0.2.0/24"])  # no collision: no error


def test_collision_with_flannel_and_docker_networks_is_refused():
    cfg = config.Config.from_env({"FLAB_CIDR": "10.244.3.0/24"})
    with pytest.raises(config.LabError, match="flannel network 10.244.0.0/16"):
        config.check_collisions(cfg, [])
    cfg = config.Config.from_env({"FLAB_CIDR": "172.17.5.0/24"})
    with pytest.raises(config.LabError, match="Docker's default bridge"):
        config.check_collisions(cfg, [])


def test_inventory_groups_and_connection(cfg):
    text = inventory.inventory_text(cfg, "trixie", 5, Path("/x/flanneld"))
    inv = yaml.safe_load(text)["all"]
    assert list(inv["children"]["etcd"]["hosts"]) == ["flab1", "flab2", "flab3"]
    assert list(inv["children"]["nodes"]["hosts"]) == [f"flab{i}" for i in range(1, 6)]
    assert inv["hosts"]["flab5"]["ansible_host"] == "10.77.0.15"
    assert inv["vars"]["flannel_binary_src"] == "/x/flanneld"
    assert inv["vars"]["ansible_ssh_private_key_file"] == str(cfg.key)
    assert inv["vars"]["lab_cidr"] == "10.77.0.0/24"


def test_inventory_for_fewer_than_three_hosts(cfg):
    inv = yaml.safe_load(inventory.inventory_text(cfg, "bookworm", 2, None))["all"]
    assert list(inv["children"]["etcd"]["hosts"]) == ["flab1", "flab2"]
    assert "flannel_binary_src" not in inv["vars"]


def test_host_files(cfg):
    cfg.key.parent.mkdir(parents=True)
    cfg.key.with_suffix(".pub").write_text("ssh-ed25519 AAAA lab\n")
    files = hosts.host_files(cfg, "bookworm", 2, 3)
    assert files["etc/hostname"][0] == "flab2\n"
    assert "10.77.0.13 flab3" in files["etc/hosts"][0]
    sources, _ = files["etc/apt/sources.list"]
    assert sources == "deb [trusted=yes] http://10.77.0.1:8089/bookworm ./\n"
    unit, _ = files["etc/systemd/system/flab-net.service"]
    assert "ip addr replace 10.77.0.12/24 dev host0" in unit
    assert files["root/.ssh/authorized_keys"] == ("ssh-ed25519 AAAA lab\n", 0o600)


def test_nspawn_argv_has_what_docker_and_udp_need(cfg):
    argv = hosts.nspawn_argv(cfg, "flab1")
    assert argv[0] == "systemd-nspawn"
    for flag in (
        "--boot",
        "--register=no",
        "--keep-unit",
        "--capability=all",
        "--network-bridge=flab0",
        "--bind=/dev/net/tun",
    ):
        assert flag in argv
    assert "--system-call-filter=@keyring bpf" in argv
    assert any(a.endswith(":/var/lib/docker") for a in argv)


def test_packages_wanted_covers_the_roles():
    wanted = images.packages_wanted()
    for pkg in ("etcd-server", "etcd-client", "docker.io", "iptables", "busybox-static", "iperf3"):
        assert pkg in wanted
    assert wanted == sorted(set(wanted))


def test_pinned_flannel_version_comes_from_role_defaults():
    assert images.pinned_flannel_version() == "v0.28.9"


def test_up_refuses_unknown_release_and_bad_count(cfg, monkeypatch):
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    with pytest.raises(config.LabError, match="not supported"):
        cli.up(cfg, 3, "sid", None)
    with pytest.raises(config.LabError, match="--hosts 0"):
        cli.up(cfg, 0, "trixie", None)


def test_down_on_nothing_is_clean(cfg, monkeypatch):
    # Own names, so a real lab running beside the tests is left alone.
    cfg = dataclasses.replace(cfg, bridge="flabut0", prefix="flabut")
    (cfg.state / "hosts" / "flabut1").mkdir(parents=True)
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    cli.down(cfg)
    assert cli.leftover_report(cfg) == []
    assert not cfg.state.exists()


def test_marker_paths_match_on_path_boundaries():
    assert proc.under("/var/lib/flannel-lab/hosts/flab1", "/var/lib/flannel-lab")
    assert proc.under("/var/lib/flannel-lab", "/var/lib/flannel-lab/")
    assert not proc.under("/var/lib/flannel-lab-etcd/hosts", "/var/lib/flannel-lab")
    assert not proc.under("/s/hosts/flab10", "/s/hosts/flab1")
    argv = ["systemd-nspawn", "--bind=/s/hosts/flab1/var-lib-docker:/var/lib/docker"]
    assert proc.mentions(argv, "/s/hosts/flab1")
    assert not proc.mentions(argv, "/s/hosts/flab")
    assert not proc.mentions(["python3", "-m", "lab", "_serve", "/s-2/repo"], "/s")


def test_host_names_are_prefix_and_number(cfg):
    assert cfg.is_host("flab1") and cfg.is_host("flab12")
    assert not cfg.is_host("flab0x") and not cfg.is_host("flabetcd1") and not cfg.is_host("flab")
