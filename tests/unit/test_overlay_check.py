"""Unit tests of the overlay_check module (library/overlay_check.py): the argv it runs
and how it reads ping's and the TCP check's answers. The runner is a stand-in; the
module's real runs are the verify plays of every lab scenario."""

import re
import socket
import threading

import yaml

from tests.unit.loader import ROOT, load

oc = load("overlay_check", "library/overlay_check.py")

PING_OK = """PING 10.244.20.2 (10.244.20.2) 1422(1450) bytes of data.

--- 10.244.20.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 402ms
rtt min/avg/max/mdev = 0.131/0.192/0.257/0.051 ms
"""
PING_LOST = """--- 10.244.36.2 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 2046ms
"""


def runner(answers):
    calls = []

    def run(argv):
        calls.append(argv)
        ip = argv[-1] if argv[4] == "ping" else argv[-2]
        return answers[(argv[4], ip)]

    return run, calls


def test_pairs_fill_the_mtu_with_df_and_read_rtt_and_connect_time():
    run, calls = runner(
        {("ping", "10.244.20.2"): (0, PING_OK, ""), ("python3", "10.244.20.2"): (0, "0.412\n", "")}
    )
    out = oc.check(run, 4242, 1450, 7777, {"flab2": "10.244.20.2"}, 3)
    assert out == {
        "ok": True,
        "pairs": [
            {"target": "flab2", "ip": "10.244.20.2", "ping_ok": True, "rtt_ms": 0.192,
             "tcp_ok": True, "tcp_connect_ms": 0.412, "host_ip": "",
             "published_host_ok": None, "published_host_connect_ms": None,
             "published_container_ok": None, "published_container_connect_ms": None,
             "error": ""},
        ],
    }  # fmt: skip
    ping, tcp = calls
    assert ping[:4] == ["nsenter", "-t", "4242", "-n"]
    assert ping[ping.index("-M") + 1] == "do" and ping[ping.index("-s") + 1] == "1422"
    assert tcp[-2:] == ["10.244.20.2", "7777"]


def test_failures_are_named_per_target_in_name_order():
    run, _ = runner(
        {
            ("ping", "10.244.36.2"): (1, PING_LOST, ""),
            ("python3", "10.244.36.2"): (1, "", "tcp: TimeoutError: timed out\n"),
            ("ping", "10.244.20.2"): (0, PING_OK, ""),
            ("python3", "10.244.20.2"): (0, "0.3", ""),
        }
    )
    out = oc.check(run, 1, 1450, 7777, {"flab3": "10.244.36.2", "flab2": "10.244.20.2"}, 3)
    assert not out["ok"]
    assert [p["target"] for p in out["pairs"]] == ["flab2", "flab3"]
    bad = out["pairs"][1]
    assert bad["ping_ok"] is False and bad["tcp_ok"] is False and bad["rtt_ms"] is None
    assert bad["error"] == (
        "ping: 3 packets transmitted, 0 received, 100% packet loss, time 2046ms; "
        "tcp: TimeoutError: timed out"
    )


def test_ping_error_without_summary_uses_its_last_line():
    assert oc.ping_error("", "nsenter: cannot open /proc/9/ns/net: No such file\n") == (
        "ping: nsenter: cannot open /proc/9/ns/net: No such file"
    )


def test_targets_are_probed_at_once():
    # Each ping waits until the other target's ping has started: run one after
    # the other, the first would time out at the barrier.
    started = threading.Barrier(2, timeout=5)

    def run(argv):
        if argv[4] == "ping":
            started.wait()
            return 0, PING_OK, ""
        return 0, "0.2", ""

    out = oc.check(run, 1, 1450, 7777, {"flab3": "10.244.36.2", "flab2": "10.244.20.2"}, 3)
    assert out["ok"] and [p["target"] for p in out["pairs"]] == ["flab2", "flab3"]


# --- the published port -----------------------------------------------------------------

TARGETS = {
    "flab2": {"container": "10.244.20.2", "host": "10.77.0.12"},
    "flab3": {"container": "10.244.36.2", "host": "10.77.0.13"},
}
REFUSED = (1, "", "tcp: ConnectionRefusedError: [Errno 111] Connection refused\n")


def tcp_runner(answers):
    """Answers by (ip, port) for the TCP checks, every ping answered."""
    calls = []

    def run(argv):
        calls.append(argv)
        if argv[4] == "ping":
            return 0, PING_OK, ""
        return answers.get((argv[-2], argv[-1]), (0, "0.25", ""))

    return run, calls


def test_the_published_port_is_probed_via_the_host_and_via_the_container():
    run, calls = tcp_runner({("10.77.0.12", "7778"): (0, "0.5", "")})
    out = oc.check(run, 4242, 1450, 7777, TARGETS, 3, published_port=7778)
    assert out["ok"] is True
    flab2 = out["pairs"][0]
    assert flab2["host_ip"] == "10.77.0.12" and flab2["ip"] == "10.244.20.2"
    assert flab2["published_host_ok"] is True and flab2["published_host_connect_ms"] == 0.5
    assert flab2["published_container_ok"] is True
    assert flab2["published_container_connect_ms"] == 0.25 and flab2["error"] == ""
    tcp = sorted(tuple(c[-2:]) for c in calls if c[4] == "python3")
    assert tcp == [
        ("10.244.20.2", "7777"), ("10.244.20.2", "7778"), ("10.244.36.2", "7777"),
        ("10.244.36.2", "7778"), ("10.77.0.12", "7778"), ("10.77.0.13", "7778"),
    ]  # fmt: skip
    # Every probe runs from the probe container's network namespace.
    assert all(c[:4] == ["nsenter", "-t", "4242", "-n"] for c in calls)


def test_a_failed_published_probe_fails_the_pair_and_names_itself():
    run, _ = tcp_runner({("10.77.0.13", "7778"): REFUSED})
    out = oc.check(run, 1, 1450, 7777, TARGETS, 3, published_port=7778)
    assert out["ok"] is False
    flab2, flab3 = out["pairs"]
    assert flab2["published_host_ok"] is True and flab2["error"] == ""
    assert flab3["ping_ok"] and flab3["tcp_ok"] and flab3["published_container_ok"] is True
    assert flab3["published_host_ok"] is False and flab3["published_host_connect_ms"] is None
    assert flab3["error"] == (
        "published via host 10.77.0.13:7778: ConnectionRefusedError: [Errno 111] Connection refused"
    )


def test_every_failed_probe_is_named_in_order():
    run, _ = tcp_runner(
        {
            ("10.244.36.2", "7777"): (1, "", "tcp: TimeoutError: timed out"),
            ("10.77.0.13", "7778"): REFUSED,
            ("10.244.36.2", "7778"): (1, "", "tcp: TimeoutError: timed out"),
        }
    )
    out = oc.check(run, 1, 1450, 7777, {"flab3": TARGETS["flab3"]}, 3, published_port=7778)
    assert out["pairs"][0]["error"] == (
        "tcp: TimeoutError: timed out; "
        "published via host 10.77.0.13:7778: ConnectionRefusedError: [Errno 111] Connection"
        " refused; "
        "published via container 10.244.36.2:7778: TimeoutError: timed out"
    )


def test_without_a_published_port_nothing_more_is_probed():
    run, calls = tcp_runner({})
    out = oc.check(run, 1, 1450, 7777, TARGETS, 3)
    assert out["ok"] and len(calls) == 4  # a ping and a TCP check per target
    for pair in out["pairs"]:
        assert pair["published_host_ok"] is None and pair["published_container_ok"] is None


def test_a_target_without_host_address_is_probed_via_its_container_only():
    run, calls = tcp_runner({})
    out = oc.check(run, 1, 1450, 7777, {"flab2": "10.244.20.2"}, 3, published_port=7778)
    pair = out["pairs"][0]
    assert out["ok"] and pair["host_ip"] == ""
    assert pair["published_host_ok"] is None and pair["published_container_ok"] is True
    assert sorted(c[-1] for c in calls if c[4] == "python3") == ["7777", "7778"]


def test_a_host_name_is_resolved_on_the_node_ipv4_first(monkeypatch):
    def getaddrinfo(host, port, type=0):  # noqa: A002 - socket's name
        if host == "flab3.example":
            return [
                (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("2001:db8::13", 0, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.77.0.13", 0)),
            ]
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(oc.socket, "getaddrinfo", getaddrinfo)
    assert oc.resolve("flab3.example") == ("10.77.0.13", "")
    assert oc.resolve("10.77.0.13") == ("10.77.0.13", "")
    run, calls = tcp_runner({})
    targets = {"flab3": {"container": "10.244.36.2", "host": "flab3.example"},
               "flab4": {"container": "10.244.40.2", "host": "gone.example"}}  # fmt: skip
    out = oc.check(run, 1, 1450, 7777, targets, 3, published_port=7778)
    flab3, flab4 = out["pairs"]
    assert flab3["published_host_ok"] is True
    assert ["10.77.0.13", "7778"] in [c[-2:] for c in calls]
    assert flab4["published_host_ok"] is False and not out["ok"]
    assert flab4["error"] == (
        "published via host gone.example:7778: cannot resolve gone.example:"
        " [Errno -2] Name or service not known"
    )


def test_an_ipv6_host_address_is_bracketed_in_the_error():
    run, _ = tcp_runner({("2001:db8::13", "7778"): REFUSED})
    target = {"flab3": {"container": "10.244.36.2", "host": "2001:db8::13"}}
    out = oc.check(run, 1, 1450, 7777, target, 3, published_port=7778)
    assert out["pairs"][0]["error"].startswith("published via host [2001:db8::13]:7778: ")


def test_the_published_probes_run_at_once_with_the_pings():
    # 2 targets: 2 pings (each followed by its TCP check) and 4 published checks, all
    # started before any returns.
    started = threading.Barrier(6, timeout=5)

    def run(argv):
        if argv[4] == "ping" or argv[-1] == "7778":
            started.wait()
        return (0, PING_OK, "") if argv[4] == "ping" else (0, "0.2", "")

    out = oc.check(run, 1, 1450, 7777, TARGETS, 3, published_port=7778)
    assert out["ok"] and [p["target"] for p in out["pairs"]] == ["flab2", "flab3"]


def test_the_module_reads_the_published_port_and_reports_no_change(capsys, monkeypatch):
    from ansible.module_utils.basic import AnsibleModule

    from tests.unit.loader import run_module

    monkeypatch.setattr(
        AnsibleModule,
        "run_command",
        lambda self, argv: (0, PING_OK, "") if argv[4] == "ping" else (0, "0.3", ""),
    )
    args = {"pid": 1, "mtu": 1450, "port": 7777, "published_port": 7778, "targets": TARGETS}
    out = run_module(oc, capsys, {**args, "_ansible_check_mode": True})
    assert out["rc"] == 0 and out["changed"] is False and out["ok"] is True
    assert [p["published_host_connect_ms"] for p in out["pairs"]] == [0.3, 0.3]


def test_the_documentation_is_yaml_and_names_every_option():
    source = (ROOT / "library/overlay_check.py").read_text()
    docs = {
        k: yaml.safe_load(source.split(f'{k} = r"""', 1)[1].split('"""', 1)[0])
        for k in ("DOCUMENTATION", "EXAMPLES", "RETURN")
    }
    spec = source.split("argument_spec={", 1)[1].split("},\n        supports", 1)[0]
    assert set(docs["DOCUMENTATION"]["options"]) == set(re.findall(r'"(\w+)": \{"type"', spec))
    returned = set(docs["RETURN"]["pairs"]["contains"])
    run, _ = tcp_runner({})
    assert set(oc.check(run, 1, 1450, 7777, TARGETS, 3, 7778)["pairs"][0]) == returned
