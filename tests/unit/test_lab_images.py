"""Unit tests of lab/images.py: the package list and the pinned flanneld version."""

from lab import images


def test_packages_wanted_covers_the_roles():
    wanted = images.packages_wanted()
    for pkg in ("etcd-server", "etcd-client", "docker.io", "iptables", "busybox-static", "iperf3"):
        assert pkg in wanted
    assert wanted == sorted(set(wanted))


def test_pinned_flannel_version_comes_from_role_defaults():
    assert images.pinned_flannel_version() == "v0.28.9"
