"""Unit tests of the plan maths (module_utils/flannel_preflight/plan.py) and of the plan
the preflight returns."""

import pytest

from tests.unit.preflight_helpers import net, no_errors, pf, run


def test_default_config_passes_and_plans():
    result = run()
    no_errors(result)
    assert result["warnings"] == []
    plan = result["plan"]
    assert plan["network"] == "10.244.0.0/16"
    assert plan["subnet_len"] == 24
    assert plan["subnet_min"] == "10.244.1.0"
    assert plan["subnet_max"] == "10.244.255.0"
    assert plan["subnets_available"] == 255
    assert plan["subnets_needed"] == 3
    assert plan["fits"] is True
    assert plan["backend"] == "vxlan"
    assert plan["mtu"] == 1450
    assert plan["underlay_mtu"] == 1500
    assert plan["config_key"] == "/coreos.com/network/config"
    assert plan["etcd_members"] == ["e1", "e2", "e3"]
    assert plan["nodes"] == ["n1", "n2", "n3"]


def test_mtu_by_backend_on_1500():
    assert run()["plan"]["mtu_by_backend"] == {
        "vxlan": 1450,
        "udp": 1472,
        "host-gw": 1500,
        "ipip": 1480,
        "wireguard": 1420,
        "ipsec": 1423,
    }


def test_mtu_by_backend_follows_underlay():
    plan = run(underlay_mtu=9000)["plan"]
    assert plan["mtu_by_backend"]["vxlan"] == 8950
    assert plan["mtu"] == 8950
    assert pf.plan.mtu_by_backend("1400")["wireguard"] == 1320


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(8, 24), (16, 24), (22, 24), (23, 25), (26, 28), (28, 30), (29, None)],
)
def test_default_subnet_len(prefix, expected):
    assert pf.plan.default_subnet_len(prefix) == expected


@pytest.mark.parametrize(("network", "expected"), [("10.244.0.0/16", 24), ("10.1.0.0/26", 28)])
def test_subnetlen_omitted_uses_flannels_default(network, expected):
    result = run(net(Network=network, SubnetLen=None), nodes={"n1": "192.0.2.1"})
    no_errors(result)
    assert result["plan"]["subnet_len"] == expected
    assert result["plan"]["subnet_len_from"] == "default"


def test_subnetlen_zero_means_default():
    result = run(net(SubnetLen=0))
    no_errors(result)
    assert result["plan"]["subnet_len"] == 24


def test_subnet_range_counts_inclusive():
    result = run(net(SubnetMin="10.244.10.0", SubnetMax="10.244.19.0"))
    no_errors(result)
    assert result["plan"]["subnets_available"] == 10


def test_host_gw_has_no_overhead():
    result = run(net(Backend={"Type": "host-gw"}), underlay_mtu=120)
    no_errors(result)
    assert result["plan"]["mtu"] == 120


def test_ipsec_udp_encap_adds_overhead():
    backend = {"Type": "ipsec", "PSK": "x" * 96, "UDPEncap": True}
    assert run(net(Backend=backend))["plan"]["mtu"] == 1500 - 77 - 8


def test_ipv6_plan():
    result = run(net(EnableIPv6=True, IPv6Network="fd00:10:244::/56"))
    no_errors(result)
    ipv6 = result["plan"]["ipv6"]
    assert ipv6["subnet_len"] == 64
    assert ipv6["subnet_min"] == "fd00:10:244:1::"
    assert ipv6["subnets_available"] == 255


# --- the maths on its own -------------------------------------------------------------------


def test_subnet_size_and_flannels_default_range():
    import ipaddress

    network = ipaddress.ip_network("10.244.0.0/16")
    size = pf.plan.subnet_size(network, 24)
    assert size == 256
    low, high = pf.plan.default_range(network, size)
    assert str(ipaddress.ip_address(low)) == "10.244.1.0"
    assert str(ipaddress.ip_address(high)) == "10.244.255.0"
    assert pf.plan.subnets_between(low, high, size) == 255
    assert pf.plan.subnets_between(high, low, size) == 0


@pytest.mark.parametrize(
    ("backend", "cfg", "mtu"),
    [
        ("vxlan", {}, 1450),
        ("vxlan", {"MTU": 9000}, 8950),
        ("vxlan", {"MTU": 0}, 1450),
        ("udp", {"MTU": 9000}, 1472),
        ("ipsec", {"UDPEncap": True}, 1415),
        ("alloc", {}, None),
    ],
)
def test_overlay_mtu(backend, cfg, mtu):
    assert pf.plan.overlay_mtu(backend, 1500, cfg) == mtu


def test_mtu_by_backend_refuses_a_non_integer():
    with pytest.raises(ValueError, match="must be an integer"):
        pf.plan.mtu_by_backend("big")


@pytest.mark.parametrize(
    ("available", "needed", "fits"), [(None, 0, False), (3, 3, True), (2, 3, False)]
)
def test_fits(available, needed, fits):
    assert pf.plan.fits(available, needed) is fits


def test_plan_of_an_unusable_config_has_no_figures():
    plan = run("not a mapping")["plan"]
    assert plan["network"] is None and plan["backend"] is None and plan["mtu"] is None
    assert plan["fits"] is False and "ipv6" not in plan
    assert plan["mtu_by_backend"]["vxlan"] == 1450
