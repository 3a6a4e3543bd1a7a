"""Unit tests of the rules that look at the inventory (module_utils/flannel_preflight/
inventory_rules.py): one or more per rule."""

import pytest

from tests.unit.preflight_helpers import NODES, fp, net, no_errors, one_error, run


def test_not_enough_subnets_for_nodes():
    result = run(net(SubnetMin="10.244.1.0", SubnetMax="10.244.2.0"))
    message = one_error(result, "flannel_network_config: only 2 subnet(s)")
    assert "group nodes has 3 hosts" in message
    assert result["plan"]["fits"] is False


@pytest.mark.parametrize("value", [10, 70000, "big", True])
def test_underlay_mtu_must_be_sane(value):
    one_error(run(underlay_mtu=value), "flannel_underlay_mtu:")


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


def test_templating_failure_is_reported():
    nodes = {"n1": {"__errors__": {"flannel_network_config": "'nope' is undefined"}}}
    message = one_error(run(nodes=nodes), "flannel_network_config: could not be templated")
    assert "host(s) n1" in message


def test_tls_file_missing(tmp_path):
    missing = str(tmp_path / "ca.pem")
    key = tmp_path / "ca-key.pem"
    key.write_text("k")
    tls = {"etcd_tls_ca_cert_src": missing, "etcd_tls_ca_key_src": str(key)}
    message = one_error(run(tls_files=tls), "etcd_tls_ca_cert_src:")
    assert "does not exist on the controller" in message


def test_tls_files_present(tmp_path):
    for name in ("cert.pem", "key.pem", "ca.pem"):
        (tmp_path / name).write_text("-----BEGIN X-----\nMII\n-----END X-----\n")
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


def test_errors_are_not_duplicated():
    # With IPv6 on, the reserved list is checked against both networks but reported once.
    config = net(EnableIPv6=True, IPv6Network="fd00:10:244::/56")
    result = run(config, reserved_cidrs=["bad", "fd00:10:244:5::/64"])
    one_error(result, "flannel_reserved_cidrs[0]:")
    message = one_error(result, "flannel_network_config.IPv6Network:")
    assert "overlaps flannel_reserved_cidrs[1]" in message


def test_member_addresses_follow_the_shared_rule():
    hostvars = {
        "e1": {"etcd_address": "10.1.0.1", "ansible_host": "10.0.0.1"},
        "e2": {"ansible_host": "10.0.0.2", "etcd_address": ""},
        "e3": {},
    }
    assert fp.FilterModule().filters()["flannel_member_addresses"](
        hostvars, ["e3", "e1", "e2"]
    ) == {
        "e3": "e3",
        "e1": "10.1.0.1",
        "e2": "10.0.0.2",
    }


def test_etcd_members_sharing_an_etcd_address_are_refused():
    etcd = {
        "e1": {"ansible_host": "10.0.0.1", "etcd_address": "10.9.0.1"},
        "e2": {"ansible_host": "10.0.0.2", "etcd_address": "10.9.0.1"},
        "e3": {"ansible_host": "10.0.0.3"},
    }
    error = one_error(run(etcd=etcd), "groups.etcd: hosts")
    assert error == (
        "groups.etcd: hosts e1, e2 share the address 10.9.0.1 (etcd_address); "
        "each etcd member needs its own peer URL"
    )


def test_docker_nftables_with_flannel_nftables_is_refused():
    nodes = {"n1": {"ansible_host": "10.0.0.1", "docker_firewall_backend": "nftables"},
             "n2": {"ansible_host": "10.0.0.2"}}  # fmt: skip
    message = one_error(run(net(EnableNFTables=True), nodes=nodes), "docker_firewall_backend:")
    assert "(host(s) n1)" in message and "EnableNFTables" in message
    no_errors(run(net(EnableNFTables=True)))  # flannel's nftables alone: left alone
    no_errors(run(nodes=nodes))  # Docker's nftables alone: the engine decides


@pytest.mark.parametrize(
    ("pinned", "backend", "start"),
    [
        ("28.1.1", "iptables", "docker_version: '28.1.1' on host(s) n1: Docker 28.1.1 drops"),
        ("28.0.0", "nftables", "docker_version: '28.0.0' on host(s) n1: docker_firewall_backend"),
        ("28.5.2", "nftables", "docker_version: '28.5.2' on host(s) n1: docker_firewall_backend"),
    ],
)
def test_pinned_docker_version_the_overlay_cannot_use(pinned, backend, start):
    host = {"ansible_host": "10.0.0.1", "docker_install_method": "repo",
            "docker_version": pinned, "docker_firewall_backend": backend}  # fmt: skip
    one_error(run(nodes={"n1": host}), start)
    # the package method installs what the distribution has: the role decides on the host
    no_errors(run(nodes={"n1": {**host, "docker_install_method": "package"}}))


@pytest.mark.parametrize(
    ("pinned", "backend"),
    [("27.5.1", "iptables"), ("28.2.0", "iptables"), ("29.8.1", "nftables"), ("", "iptables")],
)
def test_pinned_docker_version_the_overlay_can_use(pinned, backend):
    host = {"ansible_host": "10.0.0.1", "docker_install_method": "repo",
            "docker_version": pinned, "docker_firewall_backend": backend}  # fmt: skip
    no_errors(run(nodes={"n1": host}))


@pytest.mark.parametrize(
    ("var", "value", "hint"),
    [
        ("flannel_version", "0.28.9", "write the release tag with its v, e.g. v0.28.9"),
        ("flannel_version", "latest", "e.g. v0.28.9"),
        ("etcd_version", "v3.6.16", "write it without the v, e.g. 3.6.16"),
        ("etcd_version", "3.6", "e.g. 3.6.16"),
    ],
)
def test_release_versions_as_the_roles_write_them(var, value, hint):
    host = {"ansible_host": "10.0.0.1", var: value}
    message = one_error(
        run(etcd={"n1": host}, nodes={"n1": host}), f"{var}: {value!r} on host(s) n1"
    )
    assert message.endswith(hint)


@pytest.mark.parametrize(
    ("var", "value"), [("flannel_version", "v0.28.9"), ("etcd_version", "3.6.16"),
                       ("etcd_version", "3.6.0-rc.1")]
)  # fmt: skip
def test_release_versions_that_pass(var, value):
    host = {"ansible_host": "10.0.0.1", var: value}
    no_errors(run(etcd={"n1": host}, nodes={"n1": host}))


def test_release_files_must_exist_on_the_controller(tmp_path):
    there = tmp_path / "flanneld"
    there.write_bytes(b"\x7fELF")
    host = {"ansible_host": "10.0.0.1", "flannel_binary_src": str(tmp_path / "nope")}
    message = one_error(run(nodes={"n1": host}), "flannel_binary_src:")
    assert "does not exist on the controller (host(s) n1)" in message
    no_errors(run(nodes={"n1": {**host, "flannel_binary_src": str(there)}}))
    etcd = {"e1": {"ansible_host": "10.0.0.1", "etcd_archive_src": str(tmp_path)}}
    assert "not a readable regular file" in one_error(run(etcd=etcd), "etcd_archive_src:")


def test_tls_file_without_pem_is_refused(tmp_path):
    der, pem = tmp_path / "ca.der", tmp_path / "ca.pem"
    der.write_bytes(b"0\x82\x01\x0a")
    pem.write_text("-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n")
    key = tmp_path / "ca.key"
    key.write_text("-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n")
    host = {"ansible_host": "10.0.0.1", "etcd_tls_ca_cert_src": str(der),
            "etcd_tls_ca_key_src": str(key)}  # fmt: skip
    assert "holds no PEM block" in one_error(run(etcd={"e1": host}), "etcd_tls_ca_cert_src:")
    no_errors(run(etcd={"e1": {**host, "etcd_tls_ca_cert_src": str(pem)}}))
