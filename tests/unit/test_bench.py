"""scripts/bench.py: the parsing and the verdicts the report rests on."""

import json

import pytest

from tests.unit.loader import load

bench = load("bench", "scripts/bench.py")

PING = """PING 10.77.0.12 (10.77.0.12) 56(84) bytes of data.

--- 10.77.0.12 ping statistics ---
20 packets transmitted, 20 received, 0% packet loss, time 3801ms
rtt min/avg/max/mdev = 0.041/0.077/0.130/0.021 ms
"""


def test_iperf_reads_received_throughput_in_gbits():
    text = json.dumps({"end": {"sum_received": {"bits_per_second": 2.5e9}}})
    assert bench.iperf(text) == pytest.approx(2.5)


def test_ping_reads_rtt_and_loss():
    assert bench.ping(PING) == {"min": 0.041, "avg": 0.077, "max": 0.13, "loss_pct": 0}


def test_ping_without_summary_is_an_error():
    with pytest.raises(SystemExit, match="cannot read ping output"):
        bench.ping("connect: Network is unreachable")


@pytest.mark.parametrize(
    ("value", "limit", "lower", "met", "missed"),
    [
        (18.0, 20.0, True, True, None),
        (70.0, 20.0, True, False, "3.50x"),
        (0.95, 0.9, False, True, None),
        (0.45, 0.9, False, False, "2.00x"),
    ],
)
def test_target_verdicts(value, limit, lower, met, missed):
    t = bench.target("x", value, limit, "s", lower=lower)
    assert (t["met"], t["missed_by"]) == (met, missed)


def test_recap_pattern_reads_changed_and_failed():
    line = (
        "flab1                      : ok=103  changed=2    unreachable=0    failed=1    skipped=31"
    )
    assert bench.RECAP.findall(line) == [("flab1", "103", "2", "0", "1")]


def test_network_sets_the_backend_type():
    assert bench.network("host-gw")["Backend"] == {"Type": "host-gw"}


def test_markdown_has_every_section():
    r = {
        "started": "a",
        "finished": "b",
        "release": "trixie",
        "machine": {"cpus": 2, "mem_gib": 24.0, "kernel": "6.18"},
        "scale": [
            {
                "hosts": 3,
                "cold": {"wall_s": 100.0},
                "noop": {"wall_s": 50.0, "changed": 0},
                "cold_ratio_to_3": 1.0,
                "noop_ratio_to_3": 1.0,
            }
        ],
        "dataplane": [
            {
                "backend": "vxlan",
                "mtu": 1450,
                "container_gbps_median": 1.0,
                "host_gbps_median": 2.0,
                "ratio_to_underlay": 0.5,
                "rtt_ms_container": {"avg": 0.1},
                "rtt_ms_host": {"avg": 0.05},
                "flanneld_rss_mib": {"flab1": 30.0},
            }
        ],
        "tuning": [
            {
                "hosts": 3,
                "variant": "pipelining off",
                "noop_s": 60.0,
                "baseline_noop_s": 50.0,
                "slower_by": 1.2,
            }
        ],
        "ansible_settings": {"DEFAULT_FORKS": "20"},
        "targets": [bench.target("no-op re-run on 3 hosts", 50.0, 20.0, "s", lower=True)],
    }
    text = bench.markdown(r)
    for part in (
        "## Converge",
        "## Data plane",
        "## Tuning",
        "## Targets",
        "| 3 | 100.0 s",
        "2.50x",
    ):
        assert part in text


PROFILE = """PLAY RECAP *********
flab1 : ok=1 changed=0
TASKS RECAP ********************************************************************
Wednesday 02 December 2026  13:44:23 +0000 (0:00:00.054)       0:01:05.446 ****
===============================================================================
flannel : Install the etcd client certificate, key and CA for flanneld --- 2.84s
etcd : Install the etcd systemd unit ------------------------------------ 1.42s
Gathering Facts --------------------------------------------------------- 3.10s
"""


def test_slowest_tasks_come_from_the_profile_recap_slowest_first():
    tasks = bench.slowest_tasks(PROFILE, count=2)
    assert tasks == [
        {"task": "Gathering Facts", "s": 3.1},
        {
            "task": "flannel : Install the etcd client certificate, key and CA for flanneld",
            "s": 2.84,
        },
    ]
    assert bench.slowest_tasks("no recap here") == []


def quick_result(cpu3, cpu12):
    noop = lambda wall, cpu: {"wall_s": wall, "changed": 0, "cpu_s": cpu, "cpu_per_host_s": cpu}  # noqa: E731
    return {
        "mode": "quick",
        "scale": [
            {"hosts": 12, "noop": noop(100.0, cpu12)},
            {"hosts": 3, "noop": noop(14.0, cpu3), "noop_skip_verify": noop(11.0, cpu3)},
        ],
    }


def test_quick_targets_judge_wall_cpu_and_the_cpu_curve():
    verdicts = {t["target"]: t for t in bench.targets(quick_result(cpu3=3.0, cpu12=4.2))}
    assert verdicts["no-op on 3 hosts (verify included)"]["met"]
    assert verdicts["no-op on 3 hosts, --skip-tags verify"]["missed_by"] == "1.10x"
    assert verdicts["controller CPU per host, no-op, 3 hosts"]["met"]
    assert verdicts["CPU per host, 12 hosts / 3 hosts"]["value"] == 1.4
    assert not verdicts["CPU per host, 12 hosts / 3 hosts"]["met"]
    assert "cold converge of 3 hosts" not in verdicts  # quick mode has no 3-host cold run


def test_quick_markdown_says_how_the_curve_was_measured():
    r = quick_result(3.0, 3.3)
    r.update(started="a", finished="b", release="trixie", ansible_settings={},
             machine={"cpus": 2, "mem_gib": 24.0, "kernel": "6.18"},
             quick_lab={"hosts": 12, "cold": {"wall_s": 500.0, "cpu_s": 300.0}},
             slowest_tasks=[{"task": "etcd : x", "s": 1.5}])  # fmt: skip
    r["targets"] = bench.targets(r)
    text = bench.markdown(r)
    for part in ("(--quick)", "`site.yml --limit`", "| 12 | - | - | 100.0 s | 0 |",
                 "| etcd : x | 1.5 s |", "--skip-tags verify`: 11.0 s", "## Targets"):  # fmt: skip
        assert part in text
    assert "## Data plane" not in text
