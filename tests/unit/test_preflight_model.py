"""Unit tests of the preflight's model: module_utils/flannel_preflight/model.py and
inventory.py (reading flannel's config and the inventory, and the hostvars view)."""

import pytest

from tests.unit.preflight_helpers import DEFAULT_CONFIG, fp, net, no_errors, one_error, pf, run


def test_groups_as_plain_name_lists():
    no_errors(fp.flannel_preflight({"etcd": ["a"], "nodes": ["a", "b"]}, config=DEFAULT_CONFIG))


def test_underlay_values_accept_digit_strings():
    no_errors(run(underlay_mtu="1500", underlay_prefix="24"))


def test_node_value_wins_over_controller_default():
    nodes = {"n1": {"ansible_host": "10.0.0.1", "flannel_network_config": net(SubnetLen=31)}}
    one_error(run(nodes=nodes), "flannel_network_config.SubnetLen: 31")


def test_top_level_keys_match_case_insensitively():
    config = {"network": "10.244.0.0/16", "subnetlen": 24, "backend": {"type": "vxlan"}}
    no_errors(run(config))


def test_backend_type_is_case_insensitive():
    result = run(net(Backend={"Type": "VXLAN"}))
    no_errors(result)
    assert result["plan"]["backend"] == "vxlan"


def test_materialize_finds_nested_undefined():
    from jinja2 import Undefined

    value = {"Network": "10.244.0.0/16", "Backend": {"Type": Undefined(name="be_type")}}
    with pytest.raises(pf.inventory.Unresolved, match="be_type"):
        pf.inventory.materialize(value)
    assert pf.inventory.materialize({"a": ("x", 1, True, None)}) == {"a": ["x", 1, True, None]}


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


# --- reading values and the inventory ------------------------------------------------------


@pytest.mark.parametrize(
    ("group", "expected"),
    [
        (None, {}),
        ("a", {"a": {}}),
        (["a", "b"], {"a": {}, "b": {}}),
        (
            {"a": "10.0.0.1", "b": None, "c": ""},
            {"a": {"ansible_host": "10.0.0.1"}, "b": {}, "c": {}},
        ),
        ({"a": {"flannel_arch": "arm64"}}, {"a": {"flannel_arch": "arm64"}}),
    ],
)
def test_normalize_hosts(group, expected):
    assert pf.inventory.normalize_hosts(group) == expected


def test_host_address_defaults_to_the_name():
    assert pf.inventory.host_address("n1", {}) == "n1"
    assert pf.inventory.host_address("n1", {"ansible_host": ""}) == "n1"
    assert pf.inventory.host_address("n1", {"ansible_host": "10.0.0.1"}) == "10.0.0.1"


def test_cluster_value_groups_hosts_by_value():
    nodes = {"a": {"v": 1}, "b": {}, "c": {"v": 1}}
    assert pf.inventory.cluster_value("v", 2, nodes) == (1, [["a", "c"], ["b"]])
    assert pf.inventory.cluster_value("v", 2, {}) == (2, [])


def test_facts_record_what_differs_and_what_failed():
    nodes = {"a": {"lab_cidr": "10.0.0.0/24"}, "b": {"__errors__": {"lab_cidr": "undefined"}}}
    controller = {var: None for var in pf.inventory.CLUSTER_VARS}
    controller.update(flannel_underlay_mtu="9000", flannel_underlay_prefix=40)
    facts = pf.inventory.build_facts({"nodes": nodes}, controller)
    assert facts.differing == {"lab_cidr": [["a"], ["b"]]}
    assert facts.unresolved == {("lab_cidr", "undefined"): {"b"}}
    assert facts.underlay_mtu == 9000 and facts.underlay_prefix is None
    # No default of its own: the caller passes the shared setting.
    assert facts.values["flannel_network_config"] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(24, 24), ("24", 24), (" -1 ", None), (True, None), ("x", None), (33, None), (0, 0)],
)
def test_int_between(value, expected):
    assert pf.model.int_between(value, 0, 32) == expected


@pytest.mark.parametrize(
    ("prefix", "faults"),
    [
        ("/coreos.com/network", []),
        (5, None),
        (
            "a/",
            [
                "it must start with '/'",
                "it must not end with '/' (flannel appends /config and /subnets/...)",
            ],
        ),
    ],
)
def test_etcd_prefix_faults(prefix, faults):
    assert pf.model.etcd_prefix_faults(prefix) == faults


@pytest.mark.parametrize(
    ("value", "version", "network", "reason"),
    [
        ("10.244.0.0/16", 4, "10.244.0.0/16", ""),
        (" fd00::/56 ", 6, "fd00::/56", ""),
        ("10.244.0.1/16", 4, None, "has host bits set"),
        ("fd00::/56", 4, None, "is an IPv6 CIDR, not IPv4"),
        (None, 4, None, "got null"),
    ],
)
def test_parse_network(value, version, network, reason):
    got, why = pf.model.parse_network(value, version, "x")
    assert (str(got) if got else None) == network and reason in why


def test_show_and_type_name():
    assert [pf.model.show(v) for v in ("a", None, True, 3)] == ["'a'", "null", "true", "3"]
    assert pf.model.type_name([1]) == "a list" and pf.model.type_name(1.5).endswith("fraction")
