"""Unit tests of the rules on flannel_network_config (module_utils/flannel_preflight/
config_rules.py and backend_rules.py): one or more per rule."""

import pytest

from tests.unit.preflight_helpers import net, no_errors, one_error, run


def test_network_missing():
    message = one_error(run(net(Network=None)), "flannel_network_config.Network:")
    assert "missing" in message


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("bogus/16", "is not an IPv4 CIDR"),
        ("10.244.0.0", "has no prefix length"),
        ("10.244.0.0/33", "is not an IPv4 CIDR"),
        ("fd00::/48", "is an IPv6 CIDR"),
        (1024, "must be a string, got 1024"),
    ],
)
def test_network_not_an_ipv4_cidr(value, reason):
    assert reason in one_error(run(net(Network=value)), "flannel_network_config.Network:")


def test_network_with_host_bits_is_rejected():
    message = one_error(run(net(Network="10.244.1.0/16")), "flannel_network_config.Network:")
    assert "host bits set" in message and "10.244.0.0/16" in message


def test_network_in_special_range():
    message = one_error(run(net(Network="127.0.0.0/16")), "flannel_network_config.Network:")
    assert "loopback" in message


def test_network_too_small_without_subnetlen():
    result = run(net(Network="10.244.0.0/29", SubnetLen=None))
    assert "too small" in one_error(result, "flannel_network_config.Network:")


def test_enable_ipv4_false_is_refused():
    one_error(run(net(EnableIPv4=False)), "flannel_network_config.EnableIPv4:")


def test_subnetlen_31_message():
    assert run(net(SubnetLen=31))["errors"] == [
        "flannel_network_config.SubnetLen: 31 is outside what flannel accepts "
        "(must be <= 30 and >= Network prefix + 2 = 18)"
    ]


def test_subnetlen_too_short_for_four_subnets():
    one_error(run(net(SubnetLen=17)), "flannel_network_config.SubnetLen: 17 is outside")


def test_subnetlen_must_be_an_integer():
    message = one_error(run(net(SubnetLen="24")), "flannel_network_config.SubnetLen:")
    assert "must be an integer" in message


def test_subnetmin_outside_network():
    message = one_error(run(net(SubnetMin="10.245.1.0")), "flannel_network_config.SubnetMin:")
    assert "outside Network 10.244.0.0/16" in message


def test_subnetmax_not_on_boundary():
    message = one_error(run(net(SubnetMax="10.244.7.5")), "flannel_network_config.SubnetMax:")
    assert "not on a /24 boundary" in message and "10.244.7.0" in message


def test_subnetmin_not_an_address():
    message = one_error(run(net(SubnetMin="10.244.1.0/24")), "flannel_network_config.SubnetMin:")
    assert "is not an IPv4 address" in message


def test_subnetmin_above_subnetmax():
    result = run(net(SubnetMin="10.244.9.0", SubnetMax="10.244.3.0"))
    assert "is above SubnetMax" in one_error(result, "flannel_network_config.SubnetMin:")
    assert result["plan"]["subnets_available"] == 0


def test_subnetmin_first_subnet_warns():
    result = run(net(SubnetMin="10.244.0.0"))
    no_errors(result)
    assert any(w.startswith("flannel_network_config.SubnetMin:") for w in result["warnings"])


def test_backend_missing_says_udp():
    result = run(net(Backend=None))
    assert "silently uses the udp backend" in one_error(result, "flannel_network_config.Backend:")
    assert result["plan"]["backend"] == "udp"


def test_backend_type_missing():
    result = run(net(Backend={"VNI": 1}))
    assert "missing" in one_error(result, "flannel_network_config.Backend.Type:")


def test_backend_not_a_mapping():
    one_error(run(net(Backend="vxlan")), "flannel_network_config.Backend: must be a mapping")


def test_backend_type_unknown_suggests():
    message = one_error(run(net(Backend={"Type": "vxlam"})), "flannel_network_config.Backend.Type:")
    assert "did you mean vxlan?" in message


def test_backend_type_removed_cloud_backend():
    message = one_error(
        run(net(Backend={"Type": "aws-vpc"})), "flannel_network_config.Backend.Type"
    )
    assert "removed" in message


@pytest.mark.parametrize("backend", ["tencent-vpc", "alloc", "extension"])
def test_unusual_backends_warn(backend):
    result = run(net(Backend={"Type": backend}))
    no_errors(result)
    assert any(w.startswith("flannel_network_config.Backend.Type:") for w in result["warnings"])


def test_unknown_top_level_key_did_you_mean():
    config = net()
    config["SubnetLenght"] = 24
    message = one_error(run(config), "flannel_network_config.SubnetLenght:")
    assert "unknown key" in message and "did you mean SubnetLen?" in message


def test_unknown_top_level_key_without_close_match_lists_keys():
    config = net()
    config["Flux"] = 1
    assert "known keys:" in one_error(run(config), "flannel_network_config.Flux:")


def test_same_key_twice_in_different_case():
    config = net()
    config["network"] = "10.245.0.0/16"
    assert "given twice" in one_error(run(config), "flannel_network_config.network:")


def test_unknown_backend_key_did_you_mean():
    result = run(net(Backend={"Type": "vxlan", "VNIs": 2}))
    assert "did you mean VNI?" in one_error(result, "flannel_network_config.Backend.VNIs:")


def test_backend_key_of_another_backend():
    result = run(net(Backend={"Type": "udp", "VNI": 2}))
    message = one_error(result, "flannel_network_config.Backend.VNI:")
    assert "read by the vxlan backend, not by udp" in message


def test_backend_mtu_on_host_gw_is_unknown():
    result = run(net(Backend={"Type": "host-gw", "MTU": 1400}))
    one_error(result, "flannel_network_config.Backend.MTU: unknown key")


@pytest.mark.parametrize("vni", [-1, 16777216])
def test_vxlan_vni_out_of_range(vni):
    result = run(net(Backend={"Type": "vxlan", "VNI": vni}))
    assert "out of range" in one_error(result, "flannel_network_config.Backend.VNI:")


@pytest.mark.parametrize("vni", [0, 1, 16777215])
def test_vxlan_vni_in_range(vni):
    no_errors(run(net(Backend={"Type": "vxlan", "VNI": vni})))


@pytest.mark.parametrize(
    ("backend", "port", "ok"),
    [
        ("vxlan", 8472, True),
        ("vxlan", 0, True),
        ("vxlan", 65536, False),
        ("udp", 8285, True),
        ("udp", 0, False),
        ("udp", 70000, False),
    ],
)
def test_backend_port_range(backend, port, ok):
    result = run(net(Backend={"Type": backend, "Port": port}))
    if ok:
        no_errors(result)
    else:
        assert "is not a port" in one_error(result, "flannel_network_config.Backend.Port:")


def test_backend_value_types():
    result = run(net(Backend={"Type": "vxlan", "DirectRouting": "true", "VNI": "1"}))
    assert "true or false" in one_error(result, "flannel_network_config.Backend.DirectRouting:")
    assert "an integer" in one_error(result, "flannel_network_config.Backend.VNI:")


def test_wireguard_mode_and_ports():
    backend = {"Type": "wireguard", "Mode": "both", "ListenPort": 0}
    result = run(net(Backend=backend))
    one_error(result, "flannel_network_config.Backend.Mode:")
    one_error(result, "flannel_network_config.Backend.ListenPort:")


def test_wireguard_psk_must_be_a_key_and_is_not_echoed():
    result = run(net(Backend={"Type": "wireguard", "PSK": "secret-value"}))
    message = one_error(result, "flannel_network_config.Backend.PSK:")
    assert "secret-value" not in message
    good = "A" * 43 + "="
    no_errors(run(net(Backend={"Type": "wireguard", "PSK": good})))


def test_ipsec_psk_rules():
    one_error(run(net(Backend={"Type": "ipsec"})), "flannel_network_config.Backend.PSK: missing")
    result = run(net(Backend={"Type": "ipsec", "PSK": "x" * 20}))
    assert "is 20 characters long" in one_error(result, "flannel_network_config.Backend.PSK:")
    no_errors(run(net(Backend={"Type": "ipsec", "PSK": "x" * 96})))


def test_backend_mtu_too_small():
    result = run(net(Backend={"Type": "vxlan", "MTU": 100}))
    message = one_error(result, "flannel_network_config.Backend.MTU:")
    assert "overlay MTU of 50" in message and "68" in message


def test_backend_mtu_larger_than_underlay_warns():
    result = run(net(Backend={"Type": "vxlan", "MTU": 9000}))
    no_errors(result)
    assert result["plan"]["mtu"] == 8950
    assert any(w.startswith("flannel_network_config.Backend.MTU:") for w in result["warnings"])


def test_underlay_mtu_leaves_too_little():
    result = run(net(Backend={"Type": "wireguard"}), underlay_mtu=120)
    message = one_error(result, "flannel_underlay_mtu:")
    assert "overlay MTU of 40 for the wireguard backend" in message


def test_ipv6_needs_1280():
    config = net(EnableIPv6=True, IPv6Network="fd00:10:244::/56")
    result = run(config, underlay_mtu=1300)
    assert "IPv6 minimum of 1280" in one_error(result, "flannel_underlay_mtu:")


def test_ipv6_network_missing():
    one_error(run(net(EnableIPv6=True)), "flannel_network_config.IPv6Network: missing")


def test_ipv6_subnetlen_range():
    config = net(EnableIPv6=True, IPv6Network="fd00::/56", IPv6SubnetLen=127)
    message = one_error(run(config), "flannel_network_config.IPv6SubnetLen:")
    assert "must be <= 126 and >= IPv6Network prefix + 2 = 58" in message


def test_ipv6_keys_without_enable_warn():
    result = run(net(IPv6Network="fd00::/56"))
    no_errors(result)
    assert any("EnableIPv6 is not true" in w for w in result["warnings"])


def test_enable_ipv6_must_be_boolean():
    one_error(
        run(net(EnableIPv6="yes")), "flannel_network_config.EnableIPv6: must be true or false"
    )


@pytest.mark.parametrize("network", ["172.17.0.0/16", "172.16.0.0/12", "192.168.0.0/16"])
def test_docker_ranges_only_warn(network):
    result = run(net(Network=network), nodes={"n1": "10.0.0.1"})
    no_errors(result)
    assert any("Docker's default" in w for w in result["warnings"])
