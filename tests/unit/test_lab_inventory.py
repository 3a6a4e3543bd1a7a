"""Unit tests of lab/inventory.py: the generated inventory."""

from pathlib import Path

import yaml

from lab import inventory


def test_inventory_groups_and_connection(cfg):
    text = inventory.inventory_text(cfg, "trixie", 5, Path("/x/flanneld"))
    inv = yaml.safe_load(text)["all"]
    assert list(inv["children"]["etcd"]["hosts"]) == ["flab1", "flab2", "flab3"]
    assert list(inv["children"]["nodes"]["hosts"]) == [f"flab{i}" for i in range(1, 6)]
    assert inv["hosts"]["flab5"]["ansible_host"] == "10.77.0.15"
    assert inv["vars"]["flannel_binary_src"] == "/x/flanneld"
    assert inv["vars"]["ansible_ssh_private_key_file"] == str(cfg.key)
    assert inv["vars"]["lab_cidr"] == "10.77.0.0/24"


def test_inventory_for_fewer_than_three_hosts(cfg):
    inv = yaml.safe_load(inventory.inventory_text(cfg, "bookworm", 2, None))["all"]
    assert list(inv["children"]["etcd"]["hosts"]) == ["flab1", "flab2"]
    assert "flannel_binary_src" not in inv["vars"]
