"""Unit tests for filter_plugins/flannel_plan.py: one or more per preflight rule."""

import pytest

from tests.unit.loader import load

fp = load("flannel_plan", "filter_plugins/flannel_plan.py")

ETCD = {"e1": "10.0.0.1", "e2": "10.0.0.2", "e3": "10.0.0.3"}
NODES = {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}
VXLAN = {"Type": "vxlan"}


def run(config=None, etcd=None, nodes=None, **kwargs):
    inventory = {
        "etcd": ETCD if etcd is None else etcd,
        "nodes": NODES if nodes is None else nodes,
    }
    return fp.flannel_preflight(inventory, config=config, **kwargs)


def net(**keys):
    """A network config: the default plus/minus keys (None removes a key)."""
    config = {"Network": "10.244.0.0/16", "SubnetLen": 24, "Backend": dict(VXLAN)}
    for key, value in keys.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def one_error(result, start):
    found = [e for e in result["errors"] if e.startswith(start)]
    assert len(found) == 1, (start, result["errors"])
    return found[0]


def no_errors(result):
    assert result["errors"] == [], result["errors"]


# --- the default and the plan -----------------------------------------------------


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
    assert fp.mtu_by_backend("1400")["wireguard"] == 1320


def test_flannel_plan_filter_returns_only_the_plan():
    plan = fp.flannel_plan({"etcd": ["a"], "nodes": ["a", "b"]})
    assert plan["subnets_needed"] == 2 and plan["fits"] is True


def test_filter_module_exposes_filters():
    filters = fp.FilterModule().filters()
    for name in ("flannel_preflight", "flannel_plan", "flannel_inventory_view"):
        assert callable(filters[name])


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [(8, 24), (16, 24), (22, 24), (23, 25), (26, 28), (28, 30), (29, None)],
)
def test_default_subnet_len(prefix, expected):
    assert fp.default_subnet_len(prefix) == expected


# --- Network ----------------------------------------------------------------------


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


# --- SubnetLen ----------------------------------------------------------------------


def test_subnetlen_31_message():
    assert run(net(SubnetLen=31))["errors"] == [
        "flannel_network_config.SubnetLen: 31 is outside what flannel accepts "
        "(must be <= 30 and >= Network prefix + 2 = 18)"
    ]


def test_subnetlen_too_short_for_four_subnets():
    one_error(run(net(SubnetLen=17)), "flannel_network_config.SubnetLen: 17 is outside")


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


def test_subnetlen_must_be_an_integer():
    message = one_error(run(net(SubnetLen="24")), "flannel_network_config.SubnetLen:")
    assert "must be an integer" in message


# --- SubnetMin / SubnetMax -----------------------------------------------------------


def test_subnet_range_counts_inclusive():
    result = run(net(SubnetMin="10.244.10.0", SubnetMax="10.244.19.0"))
    no_errors(result)
    assert result["plan"]["subnets_available"] == 10


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


def test_not_enough_subnets_for_nodes():
    result = run(net(SubnetMin="10.244.1.0", SubnetMax="10.244.2.0"))
    message = one_error(result, "flannel_network_config: only 2 subnet(s)")
    assert "group nodes has 3 hosts" in message
    assert result["plan"]["fits"] is False


# --- Backend --------------------------------------------------------------------------


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


def test_backend_type_is_case_insensitive():
    result = run(net(Backend={"Type": "VXLAN"}))
    no_errors(result)
    assert result["plan"]["backend"] == "vxlan"


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


def test_top_level_keys_match_case_insensitively():
    config = {"network": "10.244.0.0/16", "subnetlen": 24, "backend": {"type": "vxlan"}}
    no_errors(run(config))


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


# --- MTU ------------------------------------------------------------------------------


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


def test_host_gw_has_no_overhead():
    result = run(net(Backend={"Type": "host-gw"}), underlay_mtu=120)
    no_errors(result)
    assert result["plan"]["mtu"] == 120


def test_ipsec_udp_encap_adds_overhead():
    backend = {"Type": "ipsec", "PSK": "x" * 96, "UDPEncap": True}
    assert run(net(Backend=backend))["plan"]["mtu"] == 1500 - 77 - 8


def test_ipv6_needs_1280():
    config = net(EnableIPv6=True, IPv6Network="fd00:10:244::/56")
    result = run(config, underlay_mtu=1300)
    assert "IPv6 minimum of 1280" in one_error(result, "flannel_underlay_mtu:")


@pytest.mark.parametrize("value", [10, 70000, "big", True])
def test_underlay_mtu_must_be_sane(value):
    one_error(run(underlay_mtu=value), "flannel_underlay_mtu:")


def test_underlay_values_accept_digit_strings():
    no_errors(run(underlay_mtu="1500", underlay_prefix="24"))


# --- IPv6 -------------------------------------------------------------------------------


def test_ipv6_plan():
    result = run(net(EnableIPv6=True, IPv6Network="fd00:10:244::/56"))
    no_errors(result)
    ipv6 = result["plan"]["ipv6"]
    assert ipv6["subnet_len"] == 64
    assert ipv6["subnet_min"] == "fd00:10:244:1::"
    assert ipv6["subnets_available"] == 255


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


# --- inventory ----------------------------------------------------------------------------


def test_etcd_group_missing():
    result = fp.flannel_preflight({"nodes": NODES})
    assert "etcd" in one_error(result, "groups.etcd:")


def test_nodes_group_empty():
    result = run(nodes={})
    one_error(result, "groups.nodes:")
    assert result["plan"]["subnets_needed"] == 0


def test_even_etcd_warns():
    result = run(etcd={"e1": "10.0.0.1", "e2": "10.0.0.2"})
    no_errors(result)
    assert any(w.startswith("groups.etcd: 2 members is an even number") for w in result["warnings"])


def test_duplicate_node_addresses():
    result = run(nodes={"n1": "10.0.0.1", "n2": "10.0.0.1"})
    assert "share the address 10.0.0.1" in one_error(result, "groups.nodes:")


def test_groups_as_plain_name_lists():
    no_errors(fp.flannel_preflight({"etcd": ["a"], "nodes": ["a", "b"]}))


@pytest.mark.parametrize(
    "prefix",
    ["coreos.com/network", "/coreos.com/network/", "/", "/coreos.com//network", "/core os", 5],
)
def test_etcd_prefix_invalid(prefix):
    result = run(etcd_prefix=prefix)
    one_error(result, "flannel_etcd_prefix:")
    assert result["plan"]["config_key"] is None


@pytest.mark.parametrize("prefix", ["/coreos.com/network", "/jxdd/network", "/a"])
def test_etcd_prefix_valid(prefix):
    result = run(etcd_prefix=prefix)
    no_errors(result)
    assert result["plan"]["config_key"] == f"{prefix}/config"


def test_network_contains_host_address():
    result = run(nodes={"n1": "10.244.7.1", "n2": "10.0.0.2"})
    message = one_error(result, "flannel_network_config.Network:")
    assert "n1 (10.244.7.1)" in message and "n2" not in message


def test_etcd_host_address_also_checked():
    result = run(etcd={"e1": "10.244.0.9"})
    assert "e1 (10.244.0.9)" in one_error(result, "flannel_network_config.Network:")


def test_hostnames_skip_the_overlap_check():
    no_errors(run(nodes={"n1.example.org": None, "n2": "node2.example.org"}))


def test_network_overlaps_reserved_cidr():
    result = run(reserved_cidrs=["10.96.0.0/12", "10.244.128.0/20"])
    message = one_error(result, "flannel_network_config.Network:")
    assert "overlaps flannel_reserved_cidrs[1] 10.244.128.0/20" in message


def test_reserved_cidr_entries_are_validated():
    result = run(reserved_cidrs=["10.96.0.0/12", "not-a-cidr"])
    assert "is not a CIDR" in one_error(result, "flannel_reserved_cidrs[1]:")


def test_reserved_cidrs_must_be_a_list():
    one_error(run(reserved_cidrs="10.96.0.0/12"), "flannel_reserved_cidrs: must be a list")


def test_network_overlaps_lab_cidr():
    result = run(lab_cidr="10.244.9.0/24")
    assert "overlaps lab_cidr 10.244.9.0/24" in one_error(result, "flannel_network_config.Network:")


def test_lab_cidr_is_validated():
    one_error(run(lab_cidr="lab"), "lab_cidr:")


@pytest.mark.parametrize("network", ["172.17.0.0/16", "172.16.0.0/12", "192.168.0.0/16"])
def test_docker_ranges_only_warn(network):
    result = run(net(Network=network), nodes={"n1": "10.0.0.1"})
    no_errors(result)
    assert any("Docker's default" in w for w in result["warnings"])


def test_host_gw_needs_one_l2_subnet():
    result = run(net(Backend={"Type": "host-gw"}), nodes={"n1": "10.0.0.1", "n2": "10.0.1.1"})
    message = one_error(result, "flannel_network_config.Backend.Type: host-gw")
    assert "not in one /24" in message
    no_errors(
        run(
            net(Backend={"Type": "host-gw"}),
            nodes={"n1": "10.0.0.1", "n2": "10.0.1.1"},
            underlay_prefix=16,
        )
    )


def test_host_gw_with_hostnames_warns():
    result = run(net(Backend={"Type": "host-gw"}), nodes={"n1": "10.0.0.1", "n2": None})
    no_errors(result)
    assert any("cannot be checked" in w for w in result["warnings"])


@pytest.mark.parametrize("value", [33, -1, "x"])
def test_underlay_prefix_must_be_sane(value):
    one_error(run(underlay_prefix=value), "flannel_underlay_prefix:")


def test_udp_needs_amd64():
    result = run(net(Backend={"Type": "udp"}), arch="arm64")
    assert "cannot run the udp backend" in one_error(result, "flannel_arch:")
    no_errors(run(net(Backend={"Type": "udp"})))


def test_udp_arch_per_host():
    nodes = {"n1": {"ansible_host": "10.0.0.1"}, "n2": {"flannel_arch": "arm64"}}
    result = run(net(Backend={"Type": "udp"}), nodes=nodes)
    assert "(host(s) n2)" in one_error(result, "flannel_arch:")


def test_vxlan_does_not_care_about_arch():
    no_errors(run(arch="arm64"))


def test_cluster_var_must_agree_between_nodes():
    nodes = {
        "n1": {"ansible_host": "10.0.0.1"},
        "n2": {"ansible_host": "10.0.0.2", "flannel_network_config": net(Network="10.99.0.0/16")},
    }
    message = one_error(run(nodes=nodes), "flannel_network_config: differs")
    assert "n1 vs n2" in message


def test_node_value_wins_over_controller_default():
    nodes = {"n1": {"ansible_host": "10.0.0.1", "flannel_network_config": net(SubnetLen=31)}}
    one_error(run(nodes=nodes), "flannel_network_config.SubnetLen: 31")


def test_templating_failure_is_reported():
    nodes = {"n1": {"__errors__": {"flannel_network_config": "'nope' is undefined"}}}
    message = one_error(run(nodes=nodes), "flannel_network_config: could not be templated")
    assert "host(s) n1" in message


def test_materialize_finds_nested_undefined():
    from jinja2 import Undefined

    value = {"Network": "10.244.0.0/16", "Backend": {"Type": Undefined(name="be_type")}}
    with pytest.raises(fp.Unresolved, match="be_type"):
        fp.materialize(value)
    assert fp.materialize({"a": ("x", 1, True, None)}) == {"a": ["x", 1, True, None]}


# --- TLS files -------------------------------------------------------------------------------


def test_tls_file_missing(tmp_path):
    missing = str(tmp_path / "ca.pem")
    key = tmp_path / "ca-key.pem"
    key.write_text("k")
    tls = {"etcd_tls_ca_cert_src": missing, "etcd_tls_ca_key_src": str(key)}
    message = one_error(run(tls_files=tls), "etcd_tls_ca_cert_src:")
    assert "does not exist on the controller" in message


def test_tls_files_present(tmp_path):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("x")
    tls = {
        "flannel_etcd_certfile_src": "cert.pem",
        "flannel_etcd_keyfile_src": str(tmp_path / "key.pem"),
        "flannel_etcd_cafile_src": "",
    }
    no_errors(run(tls_files=tls, search_dirs=[str(tmp_path)]))


def test_tls_file_is_a_directory(tmp_path):
    (tmp_path / "key.pem").write_text("x")
    tls = {"flannel_etcd_certfile_src": str(tmp_path), "flannel_etcd_keyfile_src": "key.pem"}
    result = run(tls_files=tls, search_dirs=[str(tmp_path)])
    assert "is not a regular file" in one_error(result, "flannel_etcd_certfile_src:")


def test_tls_cert_without_key(tmp_path):
    (tmp_path / "cert.pem").write_text("x")
    result = run(tls_files={"flannel_etcd_certfile_src": str(tmp_path / "cert.pem")})
    assert "flannel_etcd_certfile_src" in one_error(result, "flannel_etcd_keyfile_src:")


def test_tls_file_given_per_host(tmp_path):
    nodes = {"n1": {"ansible_host": "10.0.0.1", "flannel_etcd_cafile_src": "/nonexistent/ca.pem"}}
    message = one_error(run(nodes=nodes), "flannel_etcd_cafile_src:")
    assert "(used by n1)" in message


# --- the Ansible-facing helpers -------------------------------------------------------------


class ExplodingVars(dict):
    def __getitem__(self, key):
        if key == "flannel_arch":
            raise RuntimeError("'nope' is undefined")
        return super().__getitem__(key)


def test_inventory_view_picks_variables():
    hostvars = {
        "a": {"ansible_host": "10.0.0.1", "unrelated": 1, "flannel_arch": "arm64"},
        "b": ExplodingVars(flannel_arch="x"),
    }
    view = fp.flannel_inventory_view(hostvars, {"etcd": ["a"], "nodes": ["a", "b"], "all": []})
    assert view["etcd"]["a"] == {"ansible_host": "10.0.0.1", "flannel_arch": "arm64"}
    assert view["nodes"]["b"] == {"__errors__": {"flannel_arch": "'nope' is undefined"}}
    assert fp.flannel_inventory_view(hostvars, {}) == {"etcd": {}, "nodes": {}}


def test_plan_report_lines():
    lines = fp.flannel_plan_report(run())
    text = "\n".join(lines)
    assert "255 available, 3 needed (group nodes): fits" in text
    assert "vxlan 1450" in text and "wireguard 1420" in text
    bad = run(net(SubnetLen=31))
    assert any(line.startswith("ERROR: ") for line in fp.flannel_plan_report(bad))
    assert not any(line.startswith("ERROR: ") for line in fp.flannel_plan_report(bad, errors=False))


def test_errors_are_not_duplicated():
    # With IPv6 on, the reserved list is checked against both networks but reported once.
    config = net(EnableIPv6=True, IPv6Network="fd00:10:244::/56")
    result = run(config, reserved_cidrs=["bad", "fd00:10:244:5::/64"])
    one_error(result, "flannel_reserved_cidrs[0]:")
    message = one_error(result, "flannel_network_config.IPv6Network:")
    assert "overlaps flannel_reserved_cidrs[1]" in message
