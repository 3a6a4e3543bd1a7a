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


def test_ansible_ssh_clients_are_the_labs():
    """Ansible's ssh client quotes the key (-o 'IdentityFile="PATH"'); it is still found."""
    master = [
        "ssh", "-C", "-o", "ControlMaster=auto", "-o", "ControlPersist=120s",
        "-o", 'IdentityFile="/var/lib/flannel-lab/ssh/id_ed25519"',
        "-o", 'ControlPath="/root/.ansible/cp/10.77.0.11-22-root"', "10.77.0.11",
    ]  # fmt: skip
    assert proc.mentions(master, "/var/lib/flannel-lab")
    assert not proc.mentions(master, "/var/lib/flannel")
    assert proc.mentions(["ssh", "-o", "IdentityFile='/s/ssh/key'"], "/s")
