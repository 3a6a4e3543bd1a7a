"""Unit tests of etcd's version and membership rules (roles/etcd/filter_plugins/etcd_upgrade.py)."""

import pytest

from tests.unit.loader import load

eu = load("etcd_upgrade", "roles/etcd/filter_plugins/etcd_upgrade.py")
problems = eu.etcd_upgrade_problems
removal = eu.etcd_removal_problems


def test_filters_are_registered():
    assert set(eu.FilterModule().filters()) == {"etcd_upgrade_problems", "etcd_removal_problems"}


@pytest.mark.parametrize(
    "installed,target",
    [
        ({"a": "3.5.35", "b": "3.5.35", "c": "3.5.35"}, "3.6.16"),  # the next minor
        ({"a": "3.5.35", "b": "3.6.16", "c": "3.6.16"}, "3.6.16"),  # resuming a rolling upgrade
        ({"a": "3.6.16"}, "3.6.16"),  # no change
        ({"a": "3.5.16"}, "3.5.35"),  # a patch release
        ({"a": "", "b": "3.5.35"}, "3.5.35"),  # a new member
        ({}, "3.6.16"),  # a new cluster
        ({"a": "3.4.23"}, "3.5.35"),  # no floor is known for 3.4 -> 3.5
    ],
)
def test_allowed_changes(installed, target):
    assert problems(installed, target) == []


def test_downgrade_is_refused_naming_member_and_versions():
    (msg,) = problems({"a": "3.6.16", "b": "3.6.16"}, "3.6.15") and problems(
        {"a": "3.6.16"}, "3.5.35"
    )
    assert "a runs etcd 3.6.16 and etcd_version is 3.5.35" in msg
    assert "downgrades" in msg


def test_skipping_a_minor_version_is_refused_before_anything_else():
    (msg,) = problems({"a": "3.4.23"}, "3.6.16")
    assert "one minor version at a time" in msg
    assert "upgrade every member to 3.5 first" in msg


def test_36_needs_every_member_on_3526_first():
    (msg,) = problems({"a": "3.5.16", "b": "3.5.35", "c": "3.5.25"}, "3.6.16")
    assert "3.5.26 or later" in msg
    assert "a (3.5.16), c (3.5.25)" in msg
    assert "b (" not in msg


def test_major_change_and_garbage_are_refused():
    assert "another major version" in problems({"a": "3.6.16"}, "4.0.0")[0]
    assert "not a release number" in problems({"a": "3.6.16"}, "latest")[0]
    assert "cannot read" in problems({"a": "weird"}, "3.6.16")[0]
    assert problems({"a": "v3.6.16"}, "v3.6.16") == []


def test_removal_keeps_a_quorum():
    assert removal(["a", "b", "c"], "c", ["a", "b", "c"]) == []
    assert removal(["a", "b", "c"], "c", ["a", "b"]) == []  # removing the dead one
    (msg,) = removal(["a", "b", "c"], "c", ["a", "c"])
    assert "leaves 2 members, which need 2 healthy" in msg and "down: b" in msg
    assert removal(["a", "b", "c", "d", "e"], "e", ["a", "b", "c"]) == []
    assert "only etcd member" in removal(["a"], "a", ["a"])[0]
    assert "not a member" in removal(["a", "b"], "z", ["a", "b"])[0]
