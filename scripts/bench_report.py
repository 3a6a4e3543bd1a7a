"""make bench's verdicts and report: targets, the slowest tasks, reports/bench.md.

Pure functions over the result that scripts/bench.py measures, so they are unit-tested
(tests/unit/test_bench.py) without a lab.
"""

from __future__ import annotations

import re

# Issue 12's targets for the no-op and the controller's CPU, and the earlier ones.
TARGETS = {
    "noop_3_s": 15.0,
    "noop_3_skip_verify_s": 10.0,
    "cpu_per_host_3_s": 4.0,
    "cpu_per_host_flat": 1.2,
    "cold_3_s": 90.0,
    "cold_6_ratio": 1.5,
    "host_gw_ratio": 0.9,
}
# A line of the ansible.posix.profile_tasks recap: "role : Task name ------ 1.23s".
PROFILE_LINE = re.compile(r"^(\S.*?) -{2,} (\d+(?:\.\d+)?)s$", re.MULTILINE)


def slowest_tasks(output: str, count: int = 10) -> list[dict]:
    """The `count` slowest tasks of a run with profile_tasks, slowest first."""
    recap = output.rsplit("TASKS RECAP", 1)
    if len(recap) != 2:
        return []
    tasks = [{"task": m[1], "s": float(m[2])} for m in PROFILE_LINE.finditer(recap[1])]
    return sorted(tasks, key=lambda t: -t["s"])[:count]


def target(name: str, value: float, limit: float, unit: str, lower: bool) -> dict:
    met = value <= limit if lower else value >= limit
    miss = 0.0 if met else (value / limit if lower else limit / value)
    return {
        "target": name,
        "value": value,
        "limit": f"{'<=' if lower else '>='} {limit}{unit}",
        "met": met,
        "missed_by": None if met else f"{miss:.2f}x",
    }


def _scale(r: dict, hosts: int) -> dict | None:
    return next((s for s in r["scale"] if s["hosts"] == hosts), None)


def targets(r: dict) -> list[dict]:
    """Each target the result has a figure for, with its verdict."""
    out = []
    three, six, twelve = _scale(r, 3), _scale(r, 6), _scale(r, 12)
    dp = {d["backend"]: d for d in r.get("dataplane", [])}
    if three:
        out.append(target("no-op on 3 hosts (verify included)", three["noop"]["wall_s"],
                          TARGETS["noop_3_s"], "s", lower=True))  # fmt: skip
        if "noop_skip_verify" in three:
            out.append(target("no-op on 3 hosts, --skip-tags verify",
                              three["noop_skip_verify"]["wall_s"],
                              TARGETS["noop_3_skip_verify_s"], "s", lower=True))  # fmt: skip
        out.append(target("controller CPU per host, no-op, 3 hosts",
                          three["noop"]["cpu_per_host_s"], TARGETS["cpu_per_host_3_s"], "s",
                          lower=True))  # fmt: skip
        if "cold" in three:
            out.append(target("cold converge of 3 hosts", three["cold"]["wall_s"],
                              TARGETS["cold_3_s"], "s", lower=True))  # fmt: skip
    if twelve and three:
        ratio = twelve["noop"]["cpu_per_host_s"] / three["noop"]["cpu_per_host_s"]
        out.append(target("CPU per host, 12 hosts / 3 hosts", round(ratio, 2),
                          TARGETS["cpu_per_host_flat"], "x", lower=True))  # fmt: skip
    if six and three and "cold" in six and "cold" in three:
        out.append(target("6-host cold converge / 3-host", six["cold_ratio_to_3"],
                          TARGETS["cold_6_ratio"], "x", lower=True))  # fmt: skip
    if "host-gw" in dp:
        out.append(target("host-gw throughput / underlay", dp["host-gw"]["ratio_to_underlay"],
                          TARGETS["host_gw_ratio"], "x", lower=False))  # fmt: skip
    return out


def _cell(run: dict | None, key: str, unit: str = " s") -> str:
    return f"{run[key]}{unit}" if run and key in run else "-"


def markdown(r: dict) -> str:
    m = r["machine"]
    quick = r.get("mode") == "quick"
    lines = [
        "# flannel-ansible bench" + (" (--quick)" if quick else ""),
        "",
        f"{r['started']} to {r['finished']}; {m['cpus']} CPUs, {m['mem_gib']} GiB, kernel "
        f"{m['kernel']}; lab hosts: Debian {r['release']} systemd-nspawn machines.",
        "",
        "## Converge (site.yml, vxlan, package repository warm, controller PKI kept)",
        "",
    ]
    if quick and r.get("quick_lab"):
        q = r["quick_lab"]
        lines += [
            f"One lab of {q['hosts']} hosts, converged cold once ({q['cold']['wall_s']} s, "
            f"controller CPU {q['cold'].get('cpu_s', '-')} s); the no-op for fewer hosts is "
            "`site.yml --limit` to the first N of them (every etcd member included from 3 on).",
            "",
        ]
    lines += [
        "Controller CPU is the user+sys time of ansible-playbook and the children it waited "
        "for (os.wait4), not wall time.",
        "",
        "| hosts | cold converge | ratio to 3 | no-op re-run | changed | ratio to 3 "
        "| controller CPU | CPU per host |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in r["scale"]:
        lines.append(
            f"| {s['hosts']} | {_cell(s.get('cold'), 'wall_s')} | {s.get('cold_ratio_to_3', '-')} "
            f"| {s['noop']['wall_s']} s | {s['noop']['changed']} | {s.get('noop_ratio_to_3', '-')} "
            f"| {_cell(s['noop'], 'cpu_s')} | {_cell(s['noop'], 'cpu_per_host_s')} |"
        )
    three = _scale(r, 3)
    if three and "noop_skip_verify" in three:
        sv = three["noop_skip_verify"]
        lines += ["", f"No-op on 3 hosts with `--skip-tags verify`: {sv['wall_s']} s, "
                  f"changed={sv['changed']}, controller CPU {_cell(sv, 'cpu_s')}."]  # fmt: skip
    if r.get("slowest_tasks"):
        lines += [
            "",
            "## The 10 slowest tasks of the 3-host no-op (profile_tasks, a separate run)",
            "",
            "| task | time |",
            "|---|---:|",
        ]
        lines += [f"| {t['task']} | {t['s']} s |" for t in r["slowest_tasks"]]
    if r.get("dataplane"):
        lines += [
            "",
            "## Data plane (3 hosts; iperf3 TCP, flab1 -> flab2, alternated rounds, median)",
            "",
            "| backend | MTU | container -> container | host -> host | ratio | rtt container (avg) "
            "| rtt host (avg) | flanneld RSS per node |",
            "|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for d in r["dataplane"]:
            rss = ", ".join(f"{k} {v} MiB" for k, v in d["flanneld_rss_mib"].items())
            lines.append(
                f"| {d['backend']} | {d['mtu']} | {d['container_gbps_median']} Gbit/s | "
                f"{d['host_gbps_median']} Gbit/s | {d['ratio_to_underlay']} | "
                f"{d['rtt_ms_container']['avg']} ms | {d['rtt_ms_host']['avg']} ms | {rss} |"
            )
    if "udp_vs_vxlan" in r:
        u = r["udp_vs_vxlan"]
        lines += ["", f"udp / vxlan container throughput: **{u['ratio']}** ({u['note']})."]
    if r.get("tuning"):
        lines += [
            "",
            "## Tuning (no-op re-run with one setting turned off)",
            "",
            "| hosts | variant | no-op | baseline | factor |",
            "|---:|---|---:|---:|---:|",
        ]
        for t in r["tuning"]:
            lines.append(
                f"| {t['hosts']} | {t['variant']} | {t['noop_s']} s | {t['baseline_noop_s']} s | "
                f"{t['slower_by']}x |"
            )
    lines += ["", "Settings in use (ansible.cfg):", ""]
    lines += [f"- `{k}` = `{v}`" for k, v in r["ansible_settings"].items()]
    lines += [
        "",
        "## Targets",
        "",
        "| target | value | limit | met | missed by |",
        "|---|---:|---|---|---|",
    ]
    for t in r["targets"]:
        lines.append(
            f"| {t['target']} | {t['value']} | {t['limit']} | {'yes' if t['met'] else 'NO'} | "
            f"{t['missed_by'] or '-'} |"
        )
    return "\n".join(lines) + "\n"
