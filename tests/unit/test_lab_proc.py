"""Unit tests of lab/proc.py: marker paths match on path boundaries."""

from lab import proc


def test_marker_paths_match_on_path_boundaries():
    assert proc.under("/var/lib/flannel-lab/hosts/flab1", "/var/lib/flannel-lab")
    assert proc.under("/var/lib/flannel-lab", "/var/lib/flannel-lab/")
    assert not proc.under("/var/lib/flannel-lab-etcd/hosts", "/var/lib/flannel-lab")
    assert not proc.under("/s/hosts/flab10", "/s/hosts/flab1")
    argv = ["systemd-nspawn", "--bind=/s/hosts/flab1/var-lib-docker:/var/lib/docker"]
    assert proc.mentions(argv, "/s/hosts/flab1")
    assert not proc.mentions(argv, "/s/hosts/flab")
    assert not proc.mentions(["python3", "-m", "lab", "_serve", "/s-2/repo"], "/s")
