"""Unit tests of lab/config.py: addressing, env overrides, collision checks."""

import ipaddress

import pytest

from lab import config


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
    config.check_collisions(cfg, ["192.0.2.0/24"])


def test_collision_with_flannel_and_docker_networks_is_refused():
    cfg = config.Config.from_env({"FLAB_CIDR": "10.244.3.0/24"})
    with pytest.raises(config.LabError, match="flannel network 10.244.0.0/16"):
        config.check_collisions(cfg, [])
    cfg = config.Config.from_env({"FLAB_CIDR": "172.17.5.0/24"})
    with pytest.raises(config.LabError, match="Docker's default bridge"):
        config.check_collisions(cfg, [])


def test_host_names_are_prefix_and_number(cfg):
    assert cfg.is_host("flab1") and cfg.is_host("flab12")
    assert not cfg.is_host("flab0x") and not cfg.is_host("flabetcd1") and not cfg.is_host("flab")
