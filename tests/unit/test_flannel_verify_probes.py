"""Unit tests of verify's published-port probes and Docker engines in the report
(filter_plugins/flannel_verify.py), and of the report's text layout
(roles/flannel_verify/templates/overlay_report.txt.j2). The raw data is built as in
test_flannel_verify.py."""

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from tests.unit import test_flannel_verify as base
from tests.unit.loader import ROOT

fv = base.fv
ENGINE, PUBLISHED = base.ENGINE, base.PUBLISHED
checked, cluster, problems, report = base.checked, base.cluster, base.problems, base.report
TEMPLATE = ROOT / "roles/flannel_verify/templates/overlay_report.txt.j2"


def test_failed_published_probe_names_the_probe_and_both_engines():
    collected, reads = cluster("vxlan")
    pairs = collected["n1"]["pairs"]["pairs"]
    error = "published via host 10.0.0.3:7778: ConnectionRefusedError: [Errno 111] refused"
    pairs[1].update(published_host_ok=False, published_host_connect_ms=None, error=error)
    collected["n1"]["pairs"] = checked(pairs)
    r = report(collected, reads)
    assert r["problems"] == [
        f"n1: -> n3: published via host failed ({error})"
        " [n1: Docker 26.1.5/iptables (not reported), n3: Docker 29.8.1/nftables]"
    ]
    bad = next(p for p in r["pairs"] if (p["from"], p["to"]) == ("n1", "n3"))
    assert bad["ok"] is False and bad["failed"] == ["published via host"]
    assert bad["ping_ok"] and bad["tcp_ok"] and bad["published_container_ok"] is True
    assert bad["published_host_ok"] is False and bad["host_ip"] == "10.0.0.3"
    assert r["matrix"]["rows"][0] == ["-", "ok 0.10", "FAIL pub-host"]
    assert r["summary"] == "FAIL: 5/6 ordered pairs passed; 1 problem(s)"


def test_every_failed_probe_is_named_in_the_problem_and_the_matrix():
    collected, reads = cluster("vxlan")
    pairs = collected["n2"]["pairs"]["pairs"]
    pairs[0].update(ping_ok=False, tcp_ok=False, published_host_ok=False,
                    published_container_ok=False, error="ping: ...; tcp: ...")  # fmt: skip
    collected["n2"]["pairs"] = checked(pairs)
    r = report(collected, reads)
    assert (
        "n2: -> n1: ping and tcp and published via host and published via container failed"
        " (ping: ...; tcp: ...) [n2: Docker 28.5.2/iptables, n1: Docker 26.1.5/iptables (not"
        " reported)]"
    ) in problems(r)
    assert r["matrix"]["rows"][1][0] == "FAIL ping+tcp+pub-host+pub-ctr"


def test_published_probes_not_sent_are_no_failure():
    collected, reads = cluster("vxlan")
    for raw in collected.values():
        for pair in raw["pairs"]["pairs"]:
            pair.update(dict.fromkeys(PUBLISHED), host_ip="")
    r = report(collected, reads)
    assert r["ok"] is True, r["problems"]
    assert {p["published_host_ok"] for p in r["pairs"]} == {None}
    assert {tuple(p["failed"]) for p in r["pairs"]} == {()}


def test_nodes_carry_their_docker_engine():
    collected, reads = cluster("vxlan")
    collected["n3"]["engine"] = None  # a node that registered no engine
    r = report(collected, reads)
    assert [n["engine"] for n in r["nodes"]] == [
        {"version": "26.1.5", "firewall_backend": "iptables (not reported)"},
        {"version": "28.5.2", "firewall_backend": "iptables"},
        {"version": "unknown", "firewall_backend": "unknown"},
    ]
    assert fv.engine_text(None) == "Docker unknown"
    assert fv.engine_text({"version": "unknown", "error": "docker info: boom"}) == "Docker unknown"
    assert fv.engine_text(ENGINE["n3"]) == "Docker 29.8.1/nftables"


def render(r):
    templar = Templar(loader=DataLoader(), variables={"flannel_verify_report": r})
    return templar.template(trust_as_template(TEMPLATE.read_text())).splitlines()


def renamed(r, old, new):
    """The report with host ``old`` called ``new`` (a long name)."""
    for node in r["nodes"]:
        node["host"] = new if node["host"] == old else node["host"]
    r["matrix"]["hosts"] = [new if h == old else h for h in r["matrix"]["hosts"]]
    return r


def test_the_text_report_shows_engines_and_failed_probes_aligned_for_long_names():
    collected, reads = cluster("vxlan")
    pairs = collected["n1"]["pairs"]["pairs"]
    error = "published via container 10.244.3.2:7778: TimeoutError: timed out"
    pairs[1].update(published_container_ok=False, error=error)
    collected["n1"]["pairs"] = checked(pairs)
    long = "n2-" + "x" * 60  # 63 characters, the longest host name
    lines = render(renamed(report(collected, reads), "n2", long))
    table = lines[1:5]
    assert table[0].split() == [
        "node", "public-ip", "subnet", "docker0", "mtu", "d0mtu", "backend", "routes",
        "healthz", "probe-ip", "docker", "firewall", "status",
    ]  # fmt: skip
    assert table[1].split()[-3:] == ["26.1.5", "iptables*", "ok"]
    assert table[3].split()[-3:] == ["29.8.1", "nftables", "ok"]
    # Every column starts at the same place on every line (two spaces between columns).
    starts = {tuple(i for i in range(1, len(t)) if t[i - 1 : i + 1] == "  " and t[i + 1] != " ")
              for t in table}  # fmt: skip
    assert len(starts) == 1 and table[2].startswith(long + "  ")
    assert "(* docker info reports no firewall backend there" in lines[5]
    matrix = lines[lines.index(next(x for x in lines if x.startswith("Ping matrix"))) + 1 :][:4]
    assert matrix[0].split() == ["n1", long, "n3"]
    assert matrix[1].split() == ["n1", "-", "ok", "0.10", "FAIL", "pub-ctr"]
    col = matrix[0].index(long)
    assert [m[col : col + 2] for m in matrix[1:]] == ["ok", "- ", "ok"]
    legend = "(FAIL names the probes that failed: ping, tcp, pub-host"
    assert any(x.startswith(legend) for x in lines)
    assert (
        f"FAILED n1: -> n3: published via container failed ({error})"
        " [n1: Docker 26.1.5/iptables (not reported), n3: Docker 29.8.1/nftables]"
    ) in lines
    assert lines[-1] == "FAIL: 5/6 ordered pairs passed; 1 problem(s)"


def test_a_passing_text_report_has_no_legends():
    collected, reads = cluster("vxlan")
    for raw in collected.values():
        raw["engine"] = ENGINE["n3"]
    lines = render(report(collected, reads))
    assert not [x for x in lines if x.startswith("(")]
    assert lines[-1] == "PASS: 6/6 ordered pairs among all 3 nodes"
