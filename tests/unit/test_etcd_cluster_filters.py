"""Unit tests of the etcd role's cluster and auth filters
(roles/etcd/filter_plugins/etcd_cluster.py), fed with output shaped like etcdctl 3.5's."""

import base64
import json

import pytest

from tests.unit.loader import load

ec = load("etcd_cluster", "roles/etcd/filter_plugins/etcd_cluster.py")

MEMBERS = {
    "flab1": "https://10.78.0.11:2379",
    "flab2": "https://10.78.0.12:2379",
    "flab3": "https://10.78.0.13:2379",
}
PEERS = {n: u.replace(":2379", ":2380") for n, u in MEMBERS.items()}
CID = 6288814692618756213
IDS = {"flab1": 101, "flab2": 102, "flab3": 103}


def status(name, cid=CID, leader=102, errors=None):
    doc = {
        "Endpoint": MEMBERS[name],
        "Status": {
            "header": {"cluster_id": cid, "member_id": IDS[name], "revision": 5},
            "version": "3.5.16",
        },
    }
    if leader:
        doc["Status"]["leader"] = leader
    if errors:
        doc["Status"]["errors"] = errors
    return doc


def health(name, ok=True, error=""):
    doc = {"endpoint": MEMBERS[name], "health": ok, "took": "3ms"}
    if error:
        doc["error"] = error
    return doc


def probe(statuses, healths, stderr=""):
    # One `endpoint status` per member (a failed one prints []), then the health.
    lines = [json.dumps([s]) for s in statuses] + ["[]"] * (len(MEMBERS) - len(statuses))
    return {
        "stdout": "\n".join(lines) + "\n@@health\n" + json.dumps(healths),
        "stderr": stderr,
    }


def refused(name):
    host = MEMBERS[name].split("//")[1]
    return (
        '{"level":"warn","msg":"retrying of unary invoker failed","error":"rpc error: code = '
        "DeadlineExceeded desc = latest balancer error: last connection error: connection "
        f'error: desc = \\"transport: Error while dialing: dial tcp {host}: connect: '
        'connection refused\\""}\n'
        f"Failed to get the status of endpoint {MEMBERS[name]} (context deadline exceeded)\n"
    )


HEALTHY = probe([status(n) for n in MEMBERS], [health(n) for n in MEMBERS])
# flab2 and flab3 stopped: flab1 answers status (no leader) but cannot commit.
QUORUM_LOST = probe(
    [status("flab1", leader=0, errors=["etcdserver: no leader"])],
    [health(n, False, "context deadline exceeded") for n in MEMBERS],
    refused("flab2") + refused("flab3"),
)
ALL_PLAY = {n: {"has_data": True, "active": True} for n in MEMBERS}


def test_filters_are_registered():
    assert set(ec.FilterModule().filters()) == {
        "etcd_probe_report",
        "etcd_cluster_verdict",
        "etcd_gate_verdict",
        "etcd_auth_state",
        "etcd_auth_plan",
    }


# --------------------------------------------------------------------------- report


def test_report_of_a_healthy_cluster():
    report = ec.etcd_probe_report(HEALTHY, MEMBERS)
    assert report["reachable"] == ["flab1", "flab2", "flab3"]
    assert report["healthy"] == ["flab1", "flab2", "flab3"]
    assert report["cluster_id"] == f"{CID:x}"
    assert report["foreign"] == {}
    assert report["leader"] == "flab2"
    # The leader's endpoint comes first: reads and writes go to a member that answers.
    assert report["healthy_endpoints"][0] == MEMBERS["flab2"]
    assert set(report["healthy_endpoints"]) == set(MEMBERS.values())
    assert report["summary"] == "3 of 3 members reachable: flab1, flab2, flab3"


def test_report_names_refused_members_and_quorum_loss():
    report = ec.etcd_probe_report(QUORUM_LOST, MEMBERS)
    assert report["reachable"] == ["flab1"]
    assert report["healthy"] == []
    assert report["unreachable"] == {"flab2": "connection refused", "flab3": "connection refused"}
    assert report["unhealthy"] == {"flab1": "etcdserver: no leader"}
    assert report["healthy_endpoints"] == []
    assert report["summary"].startswith("1 of 3 members reachable: flab1 (")
    assert "flab2: connection refused" in report["summary"]


def test_report_without_any_output():
    report = ec.etcd_probe_report({"stdout": "", "stderr": ""}, MEMBERS)
    assert report["reachable"] == []
    assert report["cluster_id"] == ""
    assert report["unreachable"]["flab1"] == "no answer within the timeout"
    assert report["summary"].startswith("0 of 3 members reachable: none")


def test_report_finds_a_member_of_another_cluster():
    result = probe(
        [status("flab1"), status("flab2"), status("flab3", cid=777, leader=103)],
        [health(n) for n in MEMBERS],
    )
    report = ec.etcd_probe_report(result, MEMBERS)
    assert report["foreign"] == {"flab3": f"{777:x}"}
    assert report["healthy"] == ["flab1", "flab2"]
    assert MEMBERS["flab3"] not in report["healthy_endpoints"]


def test_report_tls_refusal_is_named():
    host = MEMBERS["flab3"].split("//")[1]
    stderr = (
        f'{{"level":"warn","target":"etcd-endpoints://0x1/{host}","error":"rpc error: '
        'x509: certificate signed by unknown authority"}\n'
    )
    result = probe([status("flab1"), status("flab2")], [health("flab1"), health("flab2")], stderr)
    report = ec.etcd_probe_report(result, MEMBERS)
    assert report["unreachable"]["flab3"].startswith("TLS refused: x509: certificate signed")


def test_report_accepts_plain_text_probe():
    assert ec.etcd_probe_report(HEALTHY["stdout"], MEMBERS)["healthy"] == list(MEMBERS)


def test_report_reads_one_status_array_for_all_members_too():
    text = (
        json.dumps([status(n) for n in MEMBERS])
        + "\n@@health\n"
        + json.dumps([health(n) for n in MEMBERS])
    )
    assert ec.etcd_probe_report({"stdout": text}, MEMBERS)["healthy"] == list(MEMBERS)


# --------------------------------------------------------------------------- verdict


def test_verdict_healthy_cluster_is_ok():
    verdict = ec.etcd_cluster_verdict(ec.etcd_probe_report(HEALTHY, MEMBERS), ALL_PLAY)
    assert verdict == {
        "ok": True,
        "retry": False,
        "bootstrap": False,
        "problems": [],
        "msg": "3 of 3 members reachable: flab1, flab2, flab3",
        "summary": "3 of 3 members reachable: flab1, flab2, flab3",
    }


def test_verdict_quorum_lost_on_a_run_limited_to_the_live_member():
    report = ec.etcd_probe_report(QUORUM_LOST, MEMBERS)
    verdict = ec.etcd_cluster_verdict(report, {"flab1": {"has_data": True, "active": True}})
    assert not verdict["ok"]
    assert verdict["retry"]
    (problem,) = verdict["problems"]
    assert problem.startswith("1 of 3 members reachable: flab1")
    assert "quorum lost" in problem
    assert "needs 2 of 3" in problem
    assert "flab2 or flab3 (not in this run)" in problem


def test_verdict_quorum_restored_by_members_this_run_starts():
    report = ec.etcd_probe_report(QUORUM_LOST, MEMBERS)
    hosts = {
        "flab1": {"has_data": True, "active": True},
        "flab2": {"has_data": True, "active": False},
        "flab3": {"has_data": True, "active": False},
    }
    assert ec.etcd_cluster_verdict(report, hosts)["ok"]


def test_verdict_whole_cluster_stopped_and_in_the_run_is_a_cold_start():
    report = ec.etcd_probe_report({"stdout": "", "stderr": ""}, MEMBERS)
    hosts = {n: {"has_data": True, "active": False} for n in MEMBERS}
    verdict = ec.etcd_cluster_verdict(report, hosts)
    assert verdict["ok"] and not verdict["bootstrap"]


def test_verdict_bootstrap_when_nobody_has_data_and_all_are_in_the_run():
    report = ec.etcd_probe_report({"stdout": "", "stderr": ""}, MEMBERS)
    hosts = {n: {"has_data": False, "active": False} for n in MEMBERS}
    verdict = ec.etcd_cluster_verdict(report, hosts)
    assert verdict["ok"] and verdict["bootstrap"]
    assert (
        verdict["msg"]
        == "no member has data or answers: a new cluster of flab1, flab2, flab3 starts"
    )


def test_verdict_refuses_to_guess_with_members_outside_the_run():
    report = ec.etcd_probe_report({"stdout": "", "stderr": ""}, MEMBERS)
    verdict = ec.etcd_cluster_verdict(report, {"flab1": {"has_data": False, "active": False}})
    assert not verdict["ok"] and not verdict["bootstrap"]
    assert "flab2, flab3 not in this run" in verdict["msg"]


def test_verdict_member_down_outside_the_run():
    result = probe(
        [status("flab1"), status("flab2")],
        [health("flab1"), health("flab2"), health("flab3", False, "context deadline exceeded")],
        refused("flab3"),
    )
    report = ec.etcd_probe_report(result, MEMBERS)
    verdict = ec.etcd_cluster_verdict(report, {"flab1": {"has_data": True, "active": True}})
    assert not verdict["ok"] and verdict["retry"]
    assert "flab3 is down (connection refused) and not in this run" in verdict["msg"]
    # In the run with its data, it is simply started.
    hosts = {**ALL_PLAY, "flab3": {"has_data": True, "active": False}}
    assert ec.etcd_cluster_verdict(report, hosts)["ok"]


def test_verdict_member_only_in_the_inventory_is_not_required():
    result = probe([status("flab1"), status("flab2")], [health("flab1"), health("flab2")])
    report = ec.etcd_probe_report(result, MEMBERS)
    listing = {
        "members": [
            {"ID": IDS[n], "name": n, "peerURLs": [PEERS[n]], "clientURLs": [MEMBERS[n]]}
            for n in ("flab1", "flab2")
        ]
    }
    verdict = ec.etcd_cluster_verdict(
        report, {"flab1": {"has_data": True, "active": True}}, listing, PEERS
    )
    assert verdict["ok"], verdict


def test_verdict_refuses_a_wiped_member_the_cluster_knows():
    result = probe(
        [status("flab1"), status("flab2")],
        [health("flab1"), health("flab2")],
        refused("flab3"),
    )
    report = ec.etcd_probe_report(result, MEMBERS)
    listing = json.dumps(
        {
            "members": [
                {"ID": IDS[n], "name": n, "peerURLs": [PEERS[n]], "clientURLs": [MEMBERS[n]]}
                for n in MEMBERS
            ]
        }
    )
    verdict = ec.etcd_cluster_verdict(
        report, {"flab3": {"has_data": False, "active": False}}, listing, PEERS
    )
    assert not verdict["ok"]
    assert not verdict["retry"]
    (problem,) = verdict["problems"]
    assert "flab3 has no data, but the cluster knows it as member 67" in problem
    assert "etcdctl member remove 67" in problem


def test_verdict_lets_an_unstarted_added_member_continue_its_join():
    result = probe([status("flab1"), status("flab2")], [health("flab1"), health("flab2")])
    report = ec.etcd_probe_report(result, MEMBERS)
    listing = {
        "members": [
            {"ID": IDS["flab1"], "name": "flab1", "peerURLs": [PEERS["flab1"]]},
            {"ID": IDS["flab2"], "name": "flab2", "peerURLs": [PEERS["flab2"]]},
            {"ID": IDS["flab3"], "peerURLs": [PEERS["flab3"]]},
        ]
    }
    verdict = ec.etcd_cluster_verdict(
        report, {"flab3": {"has_data": False, "active": False}}, listing, PEERS
    )
    assert verdict["ok"], verdict


def test_verdict_foreign_member_is_fatal_at_once():
    result = probe(
        [status("flab1"), status("flab2"), status("flab3", cid=777, leader=103)],
        [health(n) for n in MEMBERS],
    )
    verdict = ec.etcd_cluster_verdict(ec.etcd_probe_report(result, MEMBERS), ALL_PLAY)
    assert not verdict["ok"] and not verdict["retry"]
    assert "flab3 answers as another cluster (ID 309" in verdict["msg"]


# --------------------------------------------------------------------------- gate


def test_gate_ok_when_every_expected_member_is_healthy():
    report = ec.etcd_probe_report(HEALTHY, MEMBERS)
    gate = ec.etcd_gate_verdict(report, list(MEMBERS))
    assert gate["ok"] and not gate["fatal"] and gate["done"]
    assert gate["msg"] == "3 of 3 members healthy: flab1, flab2, flab3"


def test_gate_waits_for_a_member_that_is_starting():
    report = ec.etcd_probe_report(QUORUM_LOST, MEMBERS)
    gate = ec.etcd_gate_verdict(report, list(MEMBERS))
    assert not gate["ok"] and not gate["fatal"] and not gate["done"]
    assert gate["waiting"] == list(MEMBERS)
    assert "flab2 (connection refused)" in gate["msg"]


def test_gate_ignores_members_not_expected_yet():
    result = probe([status("flab1"), status("flab2")], [health("flab1"), health("flab2")])
    gate = ec.etcd_gate_verdict(ec.etcd_probe_report(result, MEMBERS), ["flab1", "flab2"])
    assert gate["ok"]


def test_gate_stops_waiting_for_a_member_of_another_cluster():
    result = probe(
        [status("flab1"), status("flab2"), status("flab3", cid=777, leader=103)],
        [health(n) for n in MEMBERS],
    )
    gate = ec.etcd_gate_verdict(ec.etcd_probe_report(result, MEMBERS), list(MEMBERS))
    assert not gate["ok"] and gate["fatal"] and gate["done"]
    assert "flab3 answers as another cluster" in gate["msg"]


# --------------------------------------------------------------------------- auth


def b64(text):
    return base64.b64encode(text.encode()).decode()


HEADER = '{"header":{"cluster_id":1,"member_id":2,"revision":3,"raft_term":2}'
FLANNEL_PERM = (
    '"perm":[{"permType":2,"key":"'
    + b64("/coreos.com/network/")
    + '","range_end":"'
    + b64("/coreos.com/network0")
    + '"}]'
)
WANT = {
    "role": "flannel",
    "prefix": "/coreos.com/network",
    "users": ["flanneld-flab1", "flanneld-flab2"],
    "admins": ["etcdctl"],
    "prune_prefix": "flanneld-",
}


def converged_text(enabled=True):
    lines = ["@@auth", HEADER + (',"enabled":true' if enabled else "") + ',"authRevision":9}']
    for user, role in (
        ("etcdctl", "root"),
        ("flanneld-flab1", "flannel"),
        ("flanneld-flab2", "flannel"),
        ("root", "root"),
    ):
        lines += [f"@@user {user}", HEADER + f',"roles":["{role}"]}}']
    lines += ["@@role flannel", HEADER + "," + FLANNEL_PERM + "}"]
    return "\n".join(lines) + "\n"


def test_auth_state_of_a_fresh_cluster():
    state = ec.etcd_auth_state("@@auth\n" + HEADER + ',"authRevision":1}\n')
    assert state == {"enabled": False, "users": {}, "roles": {}}


def test_auth_state_of_a_converged_cluster():
    state = ec.etcd_auth_state(converged_text())
    assert state["enabled"] is True
    assert state["users"]["flanneld-flab1"] == ["flannel"]
    assert state["roles"]["flannel"] == [
        {"type": "readwrite", "key": "/coreos.com/network/", "range_end": "/coreos.com/network0"}
    ]


def test_auth_state_refuses_unreadable_output():
    with pytest.raises(ValueError, match="auth state"):
        ec.etcd_auth_state("@@auth\nError: etcdserver: permission denied\n")


def test_auth_plan_for_a_fresh_cluster_ends_with_auth_enable():
    state = ec.etcd_auth_state("@@auth\n" + HEADER + ',"authRevision":1}\n')
    labels = [s["label"] for s in ec.etcd_auth_plan(state, WANT)]
    assert labels == [
        "role add flannel",
        "role grant-permission flannel readwrite /coreos.com/network/ --prefix",
        "user add root --no-password",
        "user grant-role root root",
        "user add etcdctl --no-password",
        "user grant-role etcdctl root",
        "user add flanneld-flab1 --no-password",
        "user grant-role flanneld-flab1 flannel",
        "user add flanneld-flab2 --no-password",
        "user grant-role flanneld-flab2 flannel",
        "auth enable",
    ]


def test_auth_plan_is_empty_when_converged():
    assert ec.etcd_auth_plan(ec.etcd_auth_state(converged_text()), WANT) == []


def test_auth_plan_adds_a_new_node_and_prunes_a_removed_one():
    want = {**WANT, "users": ["flanneld-flab1", "flanneld-flab3"]}
    plan = ec.etcd_auth_plan(ec.etcd_auth_state(converged_text()), want)
    assert [s["argv"] for s in plan] == [
        ["user", "add", "flanneld-flab3", "--no-password"],
        ["user", "grant-role", "flanneld-flab3", "flannel"],
        ["user", "delete", "flanneld-flab2"],
    ]


def test_auth_plan_narrows_a_widened_role_and_keeps_foreign_users():
    text = converged_text().replace(
        FLANNEL_PERM,
        FLANNEL_PERM[:-1] + ',{"permType":2,"key":"' + b64("/") + '","range_end":"AA=="}]',
    )
    text += "@@user someone-else\n" + HEADER + ',"roles":["flannel"]}\n'
    plan = ec.etcd_auth_plan(ec.etcd_auth_state(text), WANT)
    assert [s["argv"] for s in plan] == [["role", "revoke-permission", "flannel", "/", "\x00"]]


def test_auth_plan_normalises_the_prefix():
    state = ec.etcd_auth_state(converged_text())
    assert ec.etcd_auth_plan(state, {**WANT, "prefix": "/coreos.com/network/"}) == []


def test_prefix_end():
    assert ec._prefix_end("/coreos.com/network/") == "/coreos.com/network0"
    assert ec._prefix_end("/a/") == "/a0"
