"""Unit tests for filter_plugins/flannel_verify.py: one or more per verify check.

The raw data has the shapes the verify play registers: slurp results for the
subnet file, command results with ``ip -j`` output, uri results for /healthz,
the probe script's JSON, and ``etcdctl get --prefix -w json`` loop results.
"""

import base64
import json

from tests.unit.loader import load

fv = load("flannel_verify", "filter_plugins/flannel_verify.py")

PREFIX = "/coreos.com/network"
NETWORK = "10.244.0.0/16"
HOSTS = ["n1", "n2", "n3"]
PUBLIC = {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}
SUBNET = {"n1": "10.244.1.0/24", "n2": "10.244.2.0/24", "n3": "10.244.3.0/24"}
MTU = {"vxlan": 1450, "host-gw": 1500, "udp": 1472}
# As verify_node reads them (docker info).
ENGINE = {
    "n1": {"version": "26.1.5", "firewall_backend": "iptables (not reported)", "error": ""},
    "n2": {"version": "28.5.2", "firewall_backend": "iptables", "error": ""},
    "n3": {"version": "29.8.1", "firewall_backend": "nftables", "error": ""},
}


def b64(text):
    return base64.b64encode(text.encode()).decode()


def cmd(stdout, rc=0, stderr=""):
    return {"changed": False, "rc": rc, "stdout": stdout, "stderr": stderr}


PUBLISHED = ("published_host_ok", "published_container_ok")


def checked(pairs):
    """An overlay_check result (library/overlay_check.py)."""
    return {
        "changed": False,
        "pairs": pairs,
        "ok": all(
            p["ping_ok"] and p["tcp_ok"] and False not in [p.get(k) for k in PUBLISHED]
            for p in pairs
        ),
    }


def lease(host, backend):
    value = {"PublicIP": PUBLIC[host], "PublicIPv6": None}
    if backend != "udp":  # the udp backend writes no BackendType
        value["BackendType"] = backend
    if backend == "vxlan":
        value["BackendData"] = {"VNI": 1, "VtepMAC": "aa:bb:cc:dd:ee:0" + host[-1]}
    return value


def etcd_read(config, leases, item="n1"):
    kvs = [{"key": b64(f"{PREFIX}/config"), "value": b64(json.dumps(config))}] if config else []
    for name, value in leases.items():
        kvs.append({"key": b64(f"{PREFIX}/subnets/{name}"), "value": b64(json.dumps(value))})
    return dict(cmd(json.dumps({"header": {}, "kvs": kvs, "count": len(kvs)})), item=item)


def routes_for(host, backend, hosts=HOSTS):
    routes = [{"dst": "default", "gateway": "10.0.0.254", "dev": "host0", "flags": []}]
    if backend == "udp":
        routes.append({"dst": NETWORK, "dev": "flannel0", "flags": [], "prefsrc": "10.244.1.0"})
    for peer in hosts:
        if peer == host:
            continue
        net = SUBNET[peer]
        if backend == "vxlan":
            gw = net.split("/")[0]
            routes.append({"dst": net, "gateway": gw, "dev": "flannel.1", "flags": ["onlink"]})
        elif backend == "host-gw":
            routes.append({"dst": net, "gateway": PUBLIC[peer], "dev": "host0", "flags": []})
    routes.append({"dst": SUBNET[host], "dev": "docker0", "protocol": "kernel", "flags": []})
    return routes


def node_raw(host, backend="vxlan", hosts=HOSTS, mtu=None):
    mtu = mtu or MTU[backend]
    first = SUBNET[host].replace(".0/24", ".1/24")
    env = f"FLANNEL_NETWORK={NETWORK}\nFLANNEL_SUBNET={first}\nFLANNEL_MTU={mtu}\n"
    env += "FLANNEL_IPMASQ=true\n"
    addr, plen = first.split("/")
    docker0 = [{"ifname": "docker0", "mtu": mtu, "addr_info": [
        {"family": "inet", "local": addr, "prefixlen": int(plen)}]}]  # fmt: skip
    probe_ip = "172.17.0.2".replace("172.17", first.rsplit(".", 2)[0])
    pairs = [
        {"target": p, "ip": "x", "host_ip": PUBLIC[p], "ping_ok": True, "tcp_ok": True,
         "rtt_ms": 0.1, "tcp_connect_ms": 0.2, "published_host_ok": True,
         "published_host_connect_ms": 0.3, "published_container_ok": True,
         "published_container_connect_ms": 0.2, "error": ""}
        for p in hosts if p != host
    ]  # fmt: skip
    return {
        "subnet": {"content": b64(env), "encoding": "base64", "failed": False},
        "routes": cmd(json.dumps(routes_for(host, backend, hosts))),
        "docker0": cmd(json.dumps(docker0)),
        "healthz": {"status": 200, "msg": "OK (unknown bytes)"},
        "image": cmd("sha256:abc"),
        "start": cmd("0123abcd"),
        "probe": {"ip": probe_ip, "pid": 4242, "mtu": mtu, "error": ""},
        "pairs": checked(pairs),
        "engine": ENGINE[host],
        "address": PUBLIC[host],
    }


def cluster(backend="vxlan", config_backend=None, hosts=HOSTS):
    """A healthy cluster: (collected, etcd_reads)."""
    collected = {h: node_raw(h, backend, hosts) for h in hosts}
    leases = {SUBNET[h].replace("/", "-"): lease(h, backend) for h in hosts}
    config = {"Network": NETWORK, "SubnetLen": 24, "Backend": {"Type": config_backend or backend}}
    return collected, [etcd_read(config, leases)]


def report(collected, reads, nodes=HOSTS, play_all=None, play=None, **kw):
    play_all = nodes if play_all is None else play_all
    play = play_all if play is None else play
    kw.setdefault("subnet_file", "/run/flannel/subnet.env")
    return fv.flannel_verify_report(collected, nodes, play_all, play, etcd_reads=reads, **kw)


def problems(r):
    return "\n".join(r["problems"])


# --- healthy clusters -----------------------------------------------------------------


def test_healthy_vxlan_cluster_passes():
    r = report(*cluster("vxlan"))
    assert r["ok"] is True, r["problems"]
    assert r["verdict"] == "PASS"
    assert r["summary"] == "PASS: 6/6 ordered pairs among all 3 nodes"
    assert [n["backend"] for n in r["nodes"]] == ["vxlan"] * 3
    assert [n["subnet"] for n in r["nodes"]] == ["10.244.1.1/24", "10.244.2.1/24", "10.244.3.1/24"]
    assert all(n["routes"] == "ok" and n["healthz"] == 200 for n in r["nodes"])
    assert len(r["pairs"]) == 6 and r["etcd"]["read_via"] == "n1"
    assert r["matrix"]["rows"][0] == ["-", "ok 0.10", "ok 0.10"]


def test_healthy_host_gw_cluster_passes():
    r = report(*cluster("host-gw"))
    assert r["ok"] is True, r["problems"]
    assert {n["backend"] for n in r["nodes"]} == {"host-gw"}


def test_udp_lease_without_backend_type_counts_as_udp():
    collected, reads = cluster("udp")
    assert "BackendType" not in json.dumps(reads)
    r = report(collected, reads)
    assert r["ok"] is True, r["problems"]
    assert {n["backend"] for n in r["nodes"]} == {"udp"}


def test_config_keys_match_case_insensitively_and_no_backend_means_udp():
    assert fv.config_backend({"backend": {"type": "Host-GW"}}) == "host-gw"
    assert fv.config_backend({"Network": NETWORK}) == "udp"
    assert fv.config_backend({"Backend": {}}) == "none"


# --- backends -------------------------------------------------------------------------


def test_config_changed_but_nodes_still_run_the_old_backend():
    r = report(*cluster("vxlan", config_backend="host-gw"))
    assert r["ok"] is False and r["verdict"] == "FAIL"
    assert "config says host-gw, nodes run vxlan" in problems(r)
    assert r["config"]["backend"] == "host-gw"
    assert {n["backend"] for n in r["nodes"]} == {"vxlan"}


def test_mixed_backends_fail():
    collected, _ = cluster("vxlan")
    collected["n3"] = node_raw("n3", "host-gw")
    leases = {SUBNET[h].replace("/", "-"): lease(h, "vxlan") for h in ("n1", "n2")}
    leases["10.244.3.0-24"] = lease("n3", "host-gw")
    config = {"Network": NETWORK, "Backend": {"Type": "vxlan"}}
    r = report(collected, [etcd_read(config, leases)])
    text = problems(r)
    assert "mixed backends among the nodes: n1=vxlan, n2=vxlan, n3=host-gw" in text
    assert "config says vxlan, nodes run host-gw (n3)" in text
    # n3 runs host-gw; the others' vxlan leases give it no routes it could use.
    assert (
        "n3: route to n1's subnet 10.244.1.0/24 is '10.244.1.0/24 via 10.0.0.1 dev host0'"
        not in text
    )


# --- routes ---------------------------------------------------------------------------


def test_missing_vxlan_route_fails_with_the_route_it_needs():
    collected, reads = cluster("vxlan")
    routes = [r for r in routes_for("n1", "vxlan") if r["dst"] != SUBNET["n2"]]
    collected["n1"]["routes"] = cmd(json.dumps(routes))
    r = report(collected, reads)
    assert (
        "n1: route to n2's subnet 10.244.2.0/24 is 'no route', vxlan needs "
        "'10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink'"
    ) in problems(r)
    assert r["nodes"][0]["routes"] == "1 bad"


def test_host_gw_routes_on_a_vxlan_node_fail():
    collected, reads = cluster("vxlan")
    collected["n2"]["routes"] = cmd(json.dumps(routes_for("n2", "host-gw")))
    r = report(collected, reads)
    assert "n2: route to n1's subnet 10.244.1.0/24 is '10.244.1.0/24 via 10.0.0.1 dev host0'" in (
        problems(r)
    )


def test_vxlan_with_direct_routing_accepts_routes_via_the_public_ip():
    collected, reads = cluster("vxlan")
    collected["n2"]["routes"] = cmd(json.dumps(routes_for("n2", "host-gw")))
    leases = {SUBNET[h].replace("/", "-"): lease(h, "vxlan") for h in HOSTS}
    config = {"Network": NETWORK, "Backend": {"Type": "vxlan", "DirectRouting": True}}
    r = report(collected, [etcd_read(config, leases)])
    assert r["ok"] is True, r["problems"]


def test_vxlan_routes_on_a_host_gw_node_fail():
    collected, reads = cluster("host-gw")
    collected["n3"]["routes"] = cmd(json.dumps(routes_for("n3", "vxlan")))
    r = report(collected, reads)
    assert "host-gw needs '10.244.1.0/24 via 10.0.0.1'" in problems(r)


def test_udp_needs_the_network_into_flannel0_and_no_per_subnet_route():
    collected, reads = cluster("udp")
    routes = [r for r in routes_for("n1", "udp") if r["dst"] != NETWORK]
    routes.append({"dst": SUBNET["n2"], "gateway": "10.244.2.0", "dev": "flannel.1", "flags": []})
    collected["n1"]["routes"] = cmd(json.dumps(routes))
    text = problems(report(collected, reads))
    assert "n1: udp needs '10.244.0.0/16 dev flannel0', found: no route" in text
    assert (
        "n1: route to n2's subnet 10.244.2.0/24 is '10.244.2.0/24 via 10.244.2.0 dev flannel.1'"
        in text
    )


def test_unreadable_routes_fail():
    collected, reads = cluster("vxlan")
    collected["n1"]["routes"] = cmd("", rc=1, stderr='Option "-j" is unknown')
    assert 'n1: cannot read its routes (Option "-j" is unknown)' in problems(
        report(collected, reads)
    )


# --- leases, nodes, MTU ---------------------------------------------------------------


def test_missing_lease_fails():
    collected, _ = cluster("vxlan")
    leases = {SUBNET[h].replace("/", "-"): lease(h, "vxlan") for h in ("n1", "n2")}
    config = {"Network": NETWORK, "Backend": {"Type": "vxlan"}}
    r = report(collected, [etcd_read(config, leases)])
    assert "n3: no lease in etcd for its subnet 10.244.3.0-24 (FLANNEL_SUBNET=10.244.3.1/24)" in (
        problems(r)
    )
    assert r["nodes"][2]["backend"] == "unknown"


def test_missing_subnet_file_fails():
    collected, reads = cluster("vxlan")
    collected["n2"]["subnet"] = {"failed": False, "msg": "file not found: /run/flannel/subnet.env"}
    assert "n2: cannot read /run/flannel/subnet.env (file not found" in problems(
        report(collected, reads)
    )


def test_node_that_did_not_report_fails_and_is_in_the_report():
    collected, reads = cluster("vxlan")
    r = report(collected, reads, play_all=HOSTS, play=["n1", "n2"])
    assert r["ok"] is False
    assert "n3: did not report (unreachable, or failed earlier in the run)" in problems(r)
    assert len(r["nodes"]) == 3 and r["nodes"][2]["status"] == "not-reported"
    assert r["summary"].startswith("FAIL: 2/6 ordered pairs passed")


def test_pass_needs_every_inventory_pair_and_partial_run_says_so():
    hosts = ["n1", "n2"]
    collected, reads = cluster("vxlan")
    for h in hosts:
        collected[h] = node_raw(h, "vxlan", HOSTS)
    collected["n3"] = {"address": PUBLIC["n3"]}
    for h in hosts:  # the pairs script only probed n1<->n2 in this run
        pairs = collected[h]["pairs"]["pairs"]
        collected[h]["pairs"] = checked([p for p in pairs if p["target"] in hosts])
    r = report(collected, reads, play_all=hosts)
    assert r["ok"] is True, r["problems"]
    assert r["verdict"] == "PARTIAL"
    assert r["summary"] == (
        "PARTIAL: 2/2 pairs among the 2 nodes in this run; not checked: n3 (outside --limit);"
        " run playbooks/verify.yml without --limit"
    )
    assert r["nodes"][2]["status"] == "outside-limit"
    assert r["nodes"][2]["backend"] == "vxlan"  # its lease, found by its address


def test_partial_run_still_checks_routes_to_the_nodes_outside():
    collected, reads = cluster("vxlan")
    collected["n3"] = {"address": PUBLIC["n3"]}
    routes = [r for r in routes_for("n1", "vxlan") if r["dst"] != SUBNET["n3"]]
    collected["n1"]["routes"] = cmd(json.dumps(routes))
    r = report(collected, reads, play_all=["n1", "n2"])
    assert "n1: route to n3's subnet 10.244.3.0/24 is 'no route'" in problems(r)


def test_flannel_mtu_differs_between_nodes():
    collected, reads = cluster("vxlan")
    collected["n2"] = node_raw("n2", "vxlan", mtu=1400)
    assert "FLANNEL_MTU differs between nodes: n1=1450, n2=1400, n3=1450" in problems(
        report(collected, reads)
    )


def test_docker0_mtu_differs_from_flannel_mtu():
    collected, reads = cluster("vxlan")
    docker0 = json.loads(collected["n1"]["docker0"]["stdout"])
    docker0[0]["mtu"] = 1500
    collected["n1"]["docker0"] = cmd(json.dumps(docker0))
    assert "n1: docker0 MTU 1500 != FLANNEL_MTU 1450" in problems(report(collected, reads))


def test_docker0_on_the_wrong_subnet():
    collected, reads = cluster("vxlan")
    collected["n1"]["docker0"] = cmd(json.dumps([{"mtu": 1450, "addr_info": [
        {"family": "inet", "local": "172.17.0.1", "prefixlen": 16}]}]))  # fmt: skip
    assert "n1: docker0 has 172.17.0.1/16, FLANNEL_SUBNET is 10.244.1.1/24" in problems(
        report(collected, reads)
    )


def test_two_leases_with_one_public_ip():
    collected, _ = cluster("vxlan")
    leases = {SUBNET[h].replace("/", "-"): lease(h, "vxlan") for h in HOSTS}
    leases["10.244.9.0-24"] = lease("n1", "vxlan")
    config = {"Network": NETWORK, "Backend": {"Type": "vxlan"}}
    text = problems(report(collected, [etcd_read(config, leases)]))
    assert "n1: 2 leases in etcd carry its PublicIP 10.0.0.1: 10.244.1.0-24, 10.244.9.0-24" in text


# --- flanneld health ------------------------------------------------------------------


def test_unhealthy_flanneld_fails():
    collected, reads = cluster("vxlan")
    collected["n2"]["healthz"] = {"status": 503, "msg": "Status code was 503"}
    collected["n3"]["healthz"] = {
        "status": -1,
        "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] "
        "Connection refused>",
    }
    r = report(collected, reads)
    text = problems(r)
    assert "n2: flanneld /healthz on 127.0.0.1:8286 answered 503" in text
    assert "n3: flanneld /healthz on 127.0.0.1:8286 did not answer (Status code was -1" in text
    assert [n["healthz"] for n in r["nodes"]] == [200, 503, -1]


def test_healthz_check_can_be_turned_off():
    collected, reads = cluster("vxlan")
    for raw in collected.values():
        raw["healthz"] = {"skipped": True}
    r = report(collected, reads, healthz=None)
    assert r["ok"] is True and {n["healthz"] for n in r["nodes"]} == {"off"}


# --- etcd -----------------------------------------------------------------------------


def test_etcd_is_read_through_the_next_member_when_the_first_is_down():
    collected, reads = cluster("vxlan")
    down = {"item": "n1", "unreachable": True, "msg": "Failed to connect to the host via ssh"}
    r = report(collected, [down, dict(reads[0], item="n2")])
    assert r["ok"] is True, r["problems"]
    assert r["etcd"] == {
        "read_via": "n2",
        "failed_reads": ["n1: Failed to connect to the host via ssh"],
    }


def test_etcd_unreadable_everywhere_fails():
    collected, _ = cluster("vxlan")
    reads = [
        dict(cmd("", rc=1, stderr="Error: context deadline exceeded"), item=h) for h in ("n1", "n2")
    ]
    text = problems(report(collected, reads))
    assert (
        "could not read /coreos.com/network in etcd through any member: "
        "n1: Error: context deadline exceeded; n2: Error: context deadline exceeded"
    ) in text


def test_missing_config_fails():
    collected, _ = cluster("vxlan")
    leases = {SUBNET[h].replace("/", "-"): lease(h, "vxlan") for h in HOSTS}
    assert "no readable network config at /coreos.com/network/config in etcd" in problems(
        report(collected, [etcd_read(None, leases)])
    )


# --- probes and check mode ------------------------------------------------------------


def test_failed_pair_fails_and_shows_in_the_matrix():
    collected, reads = cluster("vxlan")
    pairs = collected["n1"]["pairs"]["pairs"]
    pairs[0].update(ping_ok=False, rtt_ms=None, error="3 packets transmitted, 0 received")
    collected["n1"]["pairs"] = checked(pairs)
    r = report(collected, reads)
    assert "n1: -> n2: ping failed (3 packets transmitted, 0 received)" in problems(r)
    assert r["matrix"]["rows"][0] == ["-", "FAIL ping", "ok 0.10"]
    assert r["summary"] == "FAIL: 5/6 ordered pairs passed; 1 problem(s)"


def test_probe_that_did_not_start_fails_its_pairs():
    collected, reads = cluster("vxlan")
    collected["n2"]["start"] = cmd("", rc=125, stderr="docker: Error response from daemon: boom")
    collected["n2"]["probe"] = fv.probe_info({"skipped": True}, collected["n2"]["subnet"])
    collected["n2"]["pairs"] = {"skipped": True}
    for h in ("n1", "n3"):
        pairs = collected[h]["pairs"]["pairs"]
        collected[h]["pairs"] = checked([p for p in pairs if p["target"] != "n2"])
    r = report(collected, reads)
    assert "n1: -> n2: ping and tcp failed (not probed: probe container not running" in problems(r)
    assert sum(not p["ok"] for p in r["pairs"]) == 4
    unprobed = next(p for p in r["pairs"] if (p["from"], p["to"]) == ("n1", "n2"))
    assert unprobed["published_host_ok"] is None and unprobed["failed"] == ["ping", "tcp"]


def test_check_mode_without_probe_image_is_not_verified_and_not_failed():
    collected, reads = cluster("vxlan")
    for raw in collected.values():
        raw.update(image=cmd("", rc=1, stderr="Error: No such image"), start={"skipped": True})
        raw.update(pairs={"skipped": True}, probe=fv.probe_info({"skipped": True}))
    r = report(collected, reads, check_mode=True)
    assert r["ok"] is True and r["verdict"] == "NOT VERIFIED"
    assert r["pairs"] == []
    assert r["summary"].endswith("not verified in check mode: no probe image yet on n1, n2, n3")


def test_check_mode_with_the_image_probes_as_usual():
    r = report(*cluster("vxlan"), check_mode=True)
    assert r["verdict"] == "PASS"


# --- the small readers ----------------------------------------------------------------


def test_probe_info_reads_the_bridge_network_address_and_the_mtu():
    inspect = [{"State": {"Pid": 77}, "NetworkSettings": {"IPAddress": "",
               "Networks": {"bridge": {"IPAddress": "10.244.1.2"}}}}]  # fmt: skip
    subnet = {"content": b64("FLANNEL_SUBNET=10.244.1.1/24\nFLANNEL_MTU=1450\n")}
    info = fv.probe_info(cmd(json.dumps(inspect)), subnet)
    assert info == {"ip": "10.244.1.2", "pid": 77, "mtu": 1450, "error": ""}
    assert fv.probe_info(cmd("", rc=1, stderr="No such object"))["error"] == (
        "probe container not running (No such object)"
    )


def test_collect_reads_registered_results_and_the_inventory_address():
    hostvars = {
        "n1": {
            "flannel_verify_subnet_raw": {"content": "eA=="},
            "ansible_host": "10.0.0.1",
            "flannel_verify_engine": ENGINE["n1"],
        },  # fmt: skip
        "n2": {"flannel_iface": "eth1", "ansible_host": "192.168.0.2"},
        "n3": {"flannel_public_ip": "10.0.0.3"},
    }
    out = fv.flannel_verify_collect(hostvars, HOSTS)
    assert out["n1"]["subnet"] == {"content": "eA=="} and out["n1"]["routes"] is None
    assert [out[h]["address"] for h in HOSTS] == ["10.0.0.1", None, "10.0.0.3"]
    assert out["n1"]["engine"] == ENGINE["n1"] and out["n2"]["engine"] is None


def test_lease_names_and_subnet_file_parsing():
    assert fv.lease_name("10.244.52.1/24") == "10.244.52.0-24"
    assert fv.parse_subnet_env('FLANNEL_MTU="1450"\nFLANNEL_IPMASQ=true') == {
        "FLANNEL_MTU": "1450",
        "FLANNEL_IPMASQ": "true",
    }


def test_malformed_subnet_file_fails_with_the_shared_parsers_reason():
    collected, reads = cluster("vxlan")
    bad = base64.b64encode(b"FLANNEL_NETWORK=10.244.0.0/16\nnot a line\n").decode()
    collected["n2"]["subnet"] = {"content": bad}
    assert "n2: /run/flannel/subnet.env: line 2 is not KEY=VALUE: 'not a line'" in problems(
        report(collected, reads)
    )


def test_subnet_env_is_parsed_by_the_shared_parser():
    assert fv.parse_subnet_env('FLANNEL_MTU=1450\n# comment\nFLANNEL_IPMASQ="true"\n') == {
        "FLANNEL_MTU": "1450",
        "FLANNEL_IPMASQ": "true",
    }
