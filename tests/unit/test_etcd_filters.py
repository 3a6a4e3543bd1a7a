"""Unit tests of the etcd role's filters (roles/etcd/filter_plugins/etcd_filters.py)."""

import pytest

from tests.unit.loader import load

ef = load("etcd_filters", "roles/etcd/filter_plugins/etcd_filters.py")

DEFAULT = {"Network": "10.244.0.0/16", "SubnetLen": 24, "Backend": {"Type": "vxlan"}}


def test_filters_are_registered():
    assert set(ef.FilterModule().filters()) == {
        "etcd_json_or_none",
        "etcd_flannel_config_problems",
        "etcd_sans",
        "etcd_member_by_peer_url",
        "etcd_initial_cluster",
        "etcd_version",
        "etcd_member_mode",
    }


NO_ANSWER = {"reachable": [], "foreign": {}}


@pytest.mark.parametrize(
    "has_data,members,report,mode",
    [
        (True, {}, NO_ANSWER, "member"),
        (False, {"a": {"has_data": False}, "b": {"has_data": False}}, NO_ANSWER, "new"),
        (False, {"a": {"has_data": False}, "b": {"has_data": True}}, NO_ANSWER, "join"),
        (False, {"a": {"has_data": False}}, {"reachable": ["c"], "foreign": {}}, "join"),
        # only a member of another cluster answers: that is no cluster to join
        (False, {"a": {"has_data": False}}, {"reachable": ["c"], "foreign": {"c": "x"}}, "new"),
    ],
)
def test_member_mode(has_data, members, report, mode):
    assert ef.etcd_member_mode(has_data, members, report) == mode


@pytest.mark.parametrize(
    "text,expected",
    [
        ('{"Network": "10.244.0.0/16", "SubnetLen": 24, "Backend": {"Type": "vxlan"}}', DEFAULT),
        ('{"Backend":{"Type":"vxlan"},"SubnetLen":24,"Network":"10.244.0.0/16"}\n', DEFAULT),
        ("", None),
        ("   \n", None),
        ("{not json", None),
        (None, None),
    ],
)
def test_json_or_none(text, expected):
    assert ef.etcd_json_or_none(text) == expected


def test_json_comparison_is_semantic_not_textual():
    # Same data, different spelling: equal. Different value: not equal.
    assert (
        ef.etcd_json_or_none(
            '{"SubnetLen":24,"Backend":{"Type":"vxlan"},"Network":"10.244.0.0/16"}'
        )
        == DEFAULT
    )
    assert (
        ef.etcd_json_or_none(
            '{"Network": "10.244.0.0/16", "SubnetLen": 25, "Backend": {"Type": "vxlan"}}'
        )
        != DEFAULT
    )


def test_default_flannel_config_is_fine():
    assert ef.etcd_flannel_config_problems(DEFAULT) == []


# The etcd role runs the preflight's rules on the config alone, so the messages are the
# preflight's (docs/preflight.md, rule ids in the comments).
@pytest.mark.parametrize(
    "config,fragment",
    [
        (
            {"SubnetLen": 24, "Backend": {"Type": "vxlan"}},
            "flannel_network_config.Network: missing",  # N1
        ),
        (
            {"Network": "10.244.0.1/16", "Backend": {"Type": "vxlan"}},
            "flannel_network_config.Network: '10.244.0.1/16' has host bits set",  # N5
        ),
        (
            {"Network": "10.244.0.0/16", "SubnetLen": 31, "Backend": {"Type": "vxlan"}},
            "flannel_network_config.SubnetLen: 31 is outside what flannel accepts (must be "
            "<= 30",  # N8
        ),
        (
            {"Network": "10.244.0.0/24", "SubnetLen": 25, "Backend": {"Type": "vxlan"}},
            "and >= Network prefix + 2 = 26)",  # N8
        ),
        (
            {"Network": "10.244.0.0/16", "SubnetLen": "24", "Backend": {"Type": "vxlan"}},
            "flannel_network_config.SubnetLen: must be an integer, got '24'",  # K4
        ),
        (
            {"Network": "10.244.0.0/30", "Backend": {"Type": "vxlan"}},
            "flannel_network_config.Network: /30 is too small",  # N7
        ),
        (
            {"Network": "10.244.0.0/16"},
            "flannel_network_config.Backend: missing; without it flanneld silently uses the "
            "udp backend",  # B1
        ),
        (
            {"Network": "10.244.0.0/16", "Backend": {}},
            "flannel_network_config.Backend.Type: missing",  # B2
        ),
        (
            {"Network": "10.244.0.0/16", "Backend": {"Type": ""}},
            "flannel_network_config.Backend.Type: '' is not a flannel v0.28.9 backend",  # B4
        ),
        ("not a dict", "flannel_network_config: must be a mapping"),  # K1
    ],
)
def test_flannel_config_problems(config, fragment):
    problems = ef.etcd_flannel_config_problems(config)
    assert any(fragment in p for p in problems), problems


def test_flannel_config_problems_are_the_preflights():
    # The same function as the preflight's rules, not a copy of them.
    config = {"network": "10.244.0.0/16", "Backend": {"Type": "wireguard", "Mode": "x"}}
    expected = ef.preflight.rules.config_problems(config)
    assert ef.etcd_flannel_config_problems(config) == expected
    assert expected == [
        "flannel_network_config.Backend.Mode: 'x' is not one of separate, auto, ipv4, ipv6 "
        "(flanneld would fail with 'no valid Mode configured')"
    ]


def test_flannel_keys_match_case_insensitively():
    assert (
        ef.etcd_flannel_config_problems(
            {"network": "10.244.0.0/16", "subnetlen": 24, "backend": {"type": "host-gw"}}
        )
        == []
    )


def test_ipv6_only_config_is_refused_as_by_the_preflight():
    # Docker's --bip comes from the IPv4 subnet: the preflight refuses EnableIPv4: false
    # (K5), and so does the etcd role now that it runs the same rules.
    config = {
        "EnableIPv4": False,
        "EnableIPv6": True,
        "IPv6Network": "fd00::/48",
        "Backend": {"Type": "vxlan"},
    }
    assert ef.etcd_flannel_config_problems(config) == [
        "flannel_network_config.EnableIPv4: false is not supported by this toolkit: Docker's "
        "--bip comes from the IPv4 FLANNEL_SUBNET",
        "flannel_network_config.Network: missing; flannel needs an IPv4 CIDR such as 10.244.0.0/16",
    ]


def test_sans_kinds_order_and_duplicates():
    got = ef.etcd_sans(
        [
            "10.0.0.11",
            "127.0.0.1",
            "localhost",
            "node1",
            "",
            None,
            "node1",
            "fd00::1",
            "DNS:etcd.example.org",
            "ip:10.0.0.99",
            "10.0.0.11",
        ]
    )
    assert got == [
        "IP:10.0.0.11",
        "IP:127.0.0.1",
        "DNS:localhost",
        "DNS:node1",
        "IP:fd00::1",
        "DNS:etcd.example.org",
        "IP:10.0.0.99",
    ]


MEMBERS = {
    "members": [
        {
            "ID": 1,
            "name": "e1",
            "peerURLs": ["https://10.0.0.1:2380"],
            "clientURLs": ["https://10.0.0.1:2379"],
        },
        {
            "ID": 2,
            "name": "e2",
            "peerURLs": ["https://10.0.0.2:2380"],
            "clientURLs": ["https://10.0.0.2:2379"],
        },
    ]
}


def test_member_by_peer_url():
    assert ef.etcd_member_by_peer_url(MEMBERS, "https://10.0.0.2:2380")["ID"] == 2
    assert ef.etcd_member_by_peer_url(MEMBERS, "https://10.0.0.9:2380") is None
    assert ef.etcd_member_by_peer_url(MEMBERS["members"], "https://10.0.0.1:2380")["name"] == "e1"


def test_initial_cluster_after_member_add():
    added = {
        "member": {"ID": 3, "peerURLs": ["https://10.0.0.3:2380"]},
        "members": [*MEMBERS["members"], {"ID": 3, "peerURLs": ["https://10.0.0.3:2380"]}],
    }
    assert ef.etcd_initial_cluster(added, "e3", "https://10.0.0.3:2380") == (
        "e1=https://10.0.0.1:2380,e2=https://10.0.0.2:2380,e3=https://10.0.0.3:2380"
    )


def test_initial_cluster_when_not_listed_yet():
    assert ef.etcd_initial_cluster(MEMBERS, "e3", "https://10.0.0.3:2380").endswith(
        ",e3=https://10.0.0.3:2380"
    )


def test_initial_cluster_refuses_a_second_unstarted_member():
    other = {"ID": 4, "name": "", "peerURLs": ["https://10.0.0.4:2380"]}
    with pytest.raises(ValueError, match="no name"):
        ef.etcd_initial_cluster(
            {"members": [*MEMBERS["members"], other]}, "e3", "https://10.0.0.3:2380"
        )


@pytest.mark.parametrize(
    "output,version",
    [
        ("etcd Version: 3.5.16\nGit SHA: Not provided\nGo Version: go1.24.4\n", "3.5.16"),
        (
            "etcd Version: 3.4.23\nGit SHA: Not provided (use ./build instead of go build)\n",
            "3.4.23",
        ),
        ("etcd Version: v3.6.4\n", "3.6.4"),
        ("garbage", ""),
        (None, ""),
    ],
)
def test_version(output, version):
    assert ef.etcd_version(output) == version
