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
    }


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


@pytest.mark.parametrize(
    "config,fragment",
    [
        ({"SubnetLen": 24, "Backend": {"Type": "vxlan"}}, "Network is missing"),
        ({"Network": "10.244.0.1/16", "Backend": {"Type": "vxlan"}}, "is not an IPv4 network"),
        (
            {"Network": "10.244.0.0/16", "SubnetLen": 31, "Backend": {"Type": "vxlan"}},
            "longer than 30",
        ),
        (
            {"Network": "10.244.0.0/24", "SubnetLen": 25, "Backend": {"Type": "vxlan"}},
            "fewer than 4",
        ),
        ({"Network": "10.244.0.0/16", "SubnetLen": "24", "Backend": {"Type": "vxlan"}}, "integer"),
        ({"Network": "10.244.0.0/30", "Backend": {"Type": "vxlan"}}, "too small"),
        ({"Network": "10.244.0.0/16"}, "Backend must be a mapping"),
        ({"Network": "10.244.0.0/16", "Backend": {}}, "Backend.Type is missing"),
        ({"Network": "10.244.0.0/16", "Backend": {"Type": ""}}, "Backend.Type is missing"),
        ("not a dict", "must be a mapping"),
    ],
)
def test_flannel_config_problems(config, fragment):
    problems = ef.etcd_flannel_config_problems(config)
    assert any(fragment in p for p in problems), problems


def test_flannel_keys_match_case_insensitively():
    assert (
        ef.etcd_flannel_config_problems(
            {"network": "10.244.0.0/16", "subnetlen": 24, "backend": {"type": "host-gw"}}
        )
        == []
    )


def test_ipv6_only_config_needs_no_network():
    config = {
        "EnableIPv4": False,
        "EnableIPv6": True,
        "IPv6Network": "fd00::/48",
        "Backend": {"Type": "vxlan"},
    }
    assert ef.etcd_flannel_config_problems(config) == []


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
