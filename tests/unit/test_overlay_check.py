"""Unit tests of the overlay_check module (library/overlay_check.py): the argv it runs
and how it reads ping's and the TCP check's answers. The runner is a stand-in; the
module's real runs are the verify plays of every lab scenario."""

from tests.unit.loader import load

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
             "tcp_ok": True, "tcp_connect_ms": 0.412, "error": ""},
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
    import threading

    started = threading.Barrier(2, timeout=5)

    def run(argv):
        if argv[4] == "ping":
            started.wait()
            return 0, PING_OK, ""
        return 0, "0.2", ""

    out = oc.check(run, 1, 1450, 7777, {"flab3": "10.244.36.2", "flab2": "10.244.20.2"}, 3)
    assert out["ok"] and [p["target"] for p in out["pairs"]] == ["flab2", "flab3"]
