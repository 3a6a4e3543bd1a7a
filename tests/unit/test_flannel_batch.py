"""Unit tests of the per-batch check (filter_plugins/flannel_batch.py)."""

import base64

from tests.unit.loader import load

fb = load("flannel_batch", "filter_plugins/flannel_batch.py")
verdict = fb.flannel_batch_verdict


def slurp(subnet):
    text = (
        "FLANNEL_NETWORK=10.244.0.0/16\n"
        f"FLANNEL_SUBNET={subnet}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n"
    )
    return {"content": base64.b64encode(text.encode()).decode()}


def pairs(*results):
    return {"changed": False, "pairs": list(results)}


OK = {"target": "b", "ping_ok": True, "tcp_ok": True, "error": ""}


def test_kept_lease_and_reached_peers_pass():
    v = verdict(
        pairs(OK, dict(OK, target="c")), slurp("10.244.5.1/24"), slurp("10.244.5.1/24"), "a"
    )
    assert v == {
        "ok": True,
        "msg": "flanneld batch check on a: kept 10.244.5.1/24, reaches 2 other node(s)",
        "subnet": "10.244.5.1/24",
    }


def test_a_changed_subnet_is_a_lost_lease():
    v = verdict(pairs(OK), slurp("10.244.5.1/24"), slurp("10.244.9.1/24"), "a")
    assert not v["ok"]
    assert "subnet changed from 10.244.5.1/24 to 10.244.9.1/24: the lease was lost" in v["msg"]


def test_failed_pairs_and_missing_probe_are_named():
    bad = dict(OK, target="c", ping_ok=False, error="ping: 3 packets transmitted, 0 received")
    v = verdict(pairs(OK, bad), slurp("10.244.5.1/24"), slurp("10.244.5.1/24"), "a")
    assert not v["ok"] and "-> c: ping failed (ping: 3 packets transmitted, 0 received)" in v["msg"]
    v = verdict(
        {"failed": True, "msg": "nsenter: no such process"},
        slurp("10.244.5.1/24"),
        {"failed": True},
        "a",
    )
    assert "no readable subnet file" in v["msg"] and "nsenter: no such process" in v["msg"]


def test_a_failed_published_probe_fails_the_batch_and_is_named():
    published = dict(OK, published_host_ok=True, published_container_ok=True)
    error = "published via host 10.0.0.3:7778: ConnectionRefusedError: [Errno 111] refused"
    bad = dict(published, target="c", published_host_ok=False, error=error)
    v = verdict(pairs(published, bad), slurp("10.244.5.1/24"), slurp("10.244.5.1/24"), "a")
    assert v["ok"] is False
    assert v["msg"] == f"flanneld batch check on a: -> c: published via host failed ({error})"


def test_published_probes_not_sent_do_not_fail_the_batch():
    unsent = dict(OK, published_host_ok=None, published_container_ok=None)
    v = verdict(pairs(unsent), slurp("10.244.5.1/24"), slurp("10.244.5.1/24"), "a")
    assert v["ok"] is True and v["msg"].endswith("reaches 1 other node(s)")


def test_lease_subnet_and_name_come_from_the_one_parser():
    assert fb.flannel_lease_subnet(slurp("10.244.5.1/24")) == "10.244.5.1/24"
    assert fb.flannel_lease_subnet({"failed": True, "msg": "file not found"}) == ""
    assert fb.flannel_lease_subnet({"content": "bm9uc2Vuc2U="}) == ""
    assert fb.flannel_lease_name("10.244.5.1/24") == "10.244.5.0-24"
    assert fb.flannel_lease_name("") == ""


def test_restart_serial_is_the_batch_only_when_a_host_is_busy():
    serial = fb.flannel_restart_serial
    hv = {
        "a": {"__flannel_state": {"restart": False}},
        "b": {"__flannel_state": {"restart": False}, "__flannel_restarted": False},
        "c": {},
    }
    keys = ["__flannel_state.restart", "__flannel_restarted"]
    assert serial(["a", "b", "c"], hv, 1, keys) == 3
    assert serial([], hv, 1, keys) == 1
    hv["c"] = {"__flannel_restarted": True}
    assert serial(["a", "b", "c"], hv, 1, keys) == 1
    assert serial(["a", "b", "c"], hv, "50%", "__flannel_restarted") == "50%"
    hv["c"] = {"__flannel_state": "not a dict"}
    assert serial(["a", "b", "c"], hv, 2, keys) == 3
    assert serial(["a", "b"], None, 2, keys) == 2
    hv["c"] = {"__flannel_restarted": "False"}
    assert serial(["a", "b", "c"], hv, 2, keys) == 3
    hv["c"] = {"__flannel_restarted": "true"}
    assert serial(["a", "b", "c"], hv, 2, keys) == 2


def test_batch_label_names_the_batch_and_its_hosts():
    label = fb.flannel_batch_label
    hosts = ["a", "b", "c"]
    assert label(["a"], hosts, 1) == "batch 1/3: a"
    assert label(["b"], hosts, "1") == "batch 2/3: b"
    assert label(["c"], hosts, 2) == "batch 2/2: c"
    assert label(["a", "b", "c"], hosts, 1) == "batch 1/1: a, b, c"  # a no-op run: one batch
    assert label(["b"], hosts, "34%") == "batch 2/3: b"
    assert label([], hosts, 1) == "batch: no host"
