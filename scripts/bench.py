#!/usr/bin/env python3
"""make bench: converge times, controller CPU, scale and data-plane figures, on the lab.

Not a test: it measures and reports. Every figure comes from a real run on
lab hosts (systemd-nspawn machines booted by `python -m lab`):

1. cold converge of site.yml on fresh hosts (package repository warm; the
   controller's etcd PKI in inventory/lab/.etcd-pki is kept between runs, as
   it is for an operator) and the no-op re-run, for each host count in
   --hosts; ratios to the 3-host figures; the controller's CPU (user+sys of
   ansible-playbook and the children it waited for, from os.wait4) per host;
   on 3 hosts also a no-op with --skip-tags verify and one with profile_tasks
   for the 10 slowest tasks;
2. per backend, on 3 fresh hosts: iperf3 TCP throughput container -> container
   across hosts against host -> host on the underlay, alternated in one run,
   ping RTT for both, and flanneld's resident memory on every node;
3. the Ansible settings in use and the no-op time with each one turned off.

--quick measures only the no-op and the CPU curve: one lab of the largest
host count (12 by default), converged once, then the no-op for each count as
`--limit` to the first N hosts, plus the 3-host profile and skip-verify runs.

Writes reports/bench.json and reports/bench.md (scripts/bench_report.py makes
the verdicts and the text). Run it as root from the project directory (the
Makefile does: `make bench`, `make bench BENCH_ARGS=--quick`). It leaves the
lab down.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from lab.config import Config  # noqa: E402  (the lab's own settings)
from lab.hosts import ssh  # noqa: E402  (and its ssh)

# markdown and target are used by tests/unit/test_bench.py through this module.
from scripts.bench_report import markdown, slowest_tasks, target, targets  # noqa: E402,F401

LAB = Config.from_env()
# The lease file's path: the shared setting's default (the lab does not change it).
SUBNET_FILE = re.search(
    r"^flannel_subnet_file: *(\S+)",
    (ROOT / "roles/flannel_common/defaults/main.yml").read_text(),
    re.MULTILINE,
).group(1)
RELEASE = "trixie"
RECAP = re.compile(
    r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE
)
# The classic flannel guides: UDP streaming about 0.3x slower than VXLAN.
CLASSIC_UDP_VS_VXLAN = 0.7
# What each tuning variant turns off, as environment for ansible-playbook.
VARIANTS = {
    "pipelining off": {"ANSIBLE_PIPELINING": "False"},
    "ControlPersist off": {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ServerAliveInterval=15"},
    "fact cache off (gathering implicit)": {
        "ANSIBLE_GATHERING": "implicit",
        "ANSIBLE_CACHE_PLUGIN": "memory",
    },
}


def log(msg: str) -> None:
    print(f"bench: {msg}", flush=True)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.out = Path(args.out)
        self.logs = self.out / "bench-logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.python = sys.executable
        self.playbook = str(Path(self.python).parent / "ansible-playbook")
        self.result: dict = {
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "machine": machine(),
            "release": RELEASE,
            "scale": [],
            "tuning": [],
            "dataplane": [],
        }
        self.lab_hosts: list[dict] = []
        self.lab_backend = ""

    # ---- lab and playbooks ------------------------------------------------
    def lab(self, hosts: int) -> float:
        subprocess.run([self.python, "-m", "lab", "down"], cwd=ROOT, check=True)
        started = time.monotonic()
        subprocess.run(
            [self.python, "-m", "lab", "up", "--hosts", str(hosts), "--release", RELEASE],
            cwd=ROOT,
            check=True,
        )
        took = time.monotonic() - started
        self.lab_hosts = json.loads((LAB.state / "lab.json").read_text())["hosts"]
        self.lab_backend = ""
        return took

    def site(
        self,
        name: str,
        backend: str,
        env: dict | None = None,
        limit: list[str] | None = None,
        args: tuple[str, ...] = (),
    ) -> dict:
        extra = {
            "flannel_network_config": network(backend),
            "flannel_report_path": str(self.logs / f"{name}-overlay.json"),
        }
        cmd = [self.playbook, "-i", str(LAB.inventory), "site.yml", "-e", json.dumps(extra)]
        if limit:
            cmd += ["--limit", ",".join(limit)]
        cmd += list(args)
        run_env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", **(env or {})}
        path = self.logs / f"{name}.log"
        log(f"{name}: ansible-playbook site.yml ({backend}) -> {path}")
        started = time.monotonic()
        with path.open("w") as fh:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=run_env, stdout=fh, stderr=subprocess.STDOUT)
            # wait4: the CPU of ansible-playbook and of every child it waited for.
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = rc = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - started
        recap = RECAP.findall(path.read_text())
        changed = sum(int(r[2]) for r in recap)
        failed = sum(int(r[3]) + int(r[4]) for r in recap)
        if rc != 0 or failed:
            raise SystemExit(f"bench: {name} failed (rc={rc}); see {path}")
        self.lab_backend = backend
        hosts = len([r for r in recap if r[0] != "localhost"])
        cpu = usage.ru_utime + usage.ru_stime
        log(f"{name}: {wall:.1f}s, changed={changed}, controller CPU {cpu:.1f}s ({hosts} hosts)")
        return {
            "wall_s": round(wall, 1),
            "changed": changed,
            "cpu_s": round(cpu, 1),
            "cpu_per_host_s": round(cpu / max(hosts, 1), 2),
            "log": str(path.relative_to(ROOT)),
        }

    def noop_extras(self, entry: dict, limit: list[str] | None = None) -> None:
        """On 3 hosts: a no-op without verify, and one with profile_tasks (slowest tasks)."""
        entry["noop_skip_verify"] = self.site(
            "noop-3-skip-verify", "vxlan", limit=limit, args=("--skip-tags", "verify")
        )
        profiled = self.site(
            "noop-3-profile",
            "vxlan",
            env={"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
                 "PROFILE_TASKS_TASK_OUTPUT_LIMIT": "10"},
            limit=limit,
        )  # fmt: skip
        self.result["slowest_tasks"] = slowest_tasks((ROOT / profiled["log"]).read_text())

    # ---- measurements -------------------------------------------------------
    def scale(self, hosts: int) -> None:
        lab_up = self.lab(hosts)
        cold = self.site(f"cold-{hosts}", "vxlan")
        noop = self.site(f"noop-{hosts}", "vxlan")
        entry = {"hosts": hosts, "lab_up_s": round(lab_up, 1), "cold": cold, "noop": noop}
        self.result["scale"].append(entry)
        if hosts == 3:
            self.noop_extras(entry)
            self.dataplane("vxlan")
            self.tuning(hosts, VARIANTS)
        if hosts >= 6:
            self.tuning(hosts, {"forks 5 (instead of 20)": {"ANSIBLE_FORKS": "5"}})

    def quick(self, counts: list[int]) -> None:
        """One lab of max(counts) hosts, converged once; the no-op for each count."""
        largest = max(counts)
        lab_up = self.lab(largest)
        cold = self.site(f"cold-{largest}", "vxlan")
        self.result["quick_lab"] = {"hosts": largest, "lab_up_s": round(lab_up, 1), "cold": cold}
        names = [h["name"] for h in self.lab_hosts]
        for n in sorted(counts, reverse=True):
            limit = names[:n] if n < largest else None
            entry = {"hosts": n, "noop": self.site(f"noop-{n}", "vxlan", limit=limit)}
            self.result["scale"].append(entry)
            if n == 3:
                self.noop_extras(entry, limit)

    def tuning(self, hosts: int, variants: dict[str, dict]) -> None:
        base = next(s["noop"]["wall_s"] for s in self.result["scale"] if s["hosts"] == hosts)
        for label, env in variants.items():
            slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
            run = self.site(f"tuning-{hosts}-{slug}", "vxlan", env)
            self.result["tuning"].append(
                {
                    "hosts": hosts,
                    "variant": label,
                    "env": env,
                    "noop_s": run["wall_s"],
                    "baseline_noop_s": base,
                    "slower_by": round(run["wall_s"] / base, 2),
                    "changed": run["changed"],
                }
            )

    def ssh(self, host: dict, command: str, check: bool = True) -> str:
        done = ssh(LAB, host["address"], command)
        out, err = done.stdout.decode(), done.stderr.decode()
        if check and done.returncode != 0:
            raise SystemExit(f"bench: on {host['name']}: {command}: {err or out}")
        return out

    def dataplane(self, backend: str) -> None:
        if self.lab_backend != backend or len(self.lab_hosts) != 3:
            self.lab(3)
            self.site(f"cold-3-{backend}", backend)
        a, b = self.lab_hosts[0], self.lab_hosts[1]
        pids = {}
        for h in (a, b):  # iperf3 comes from the lab's apt repository, like everything else
            self.ssh(
                h,
                "command -v iperf3 >/dev/null || DEBIAN_FRONTEND=noninteractive "
                "apt-get install -y -q iperf3 >/dev/null",
            )
            self.ssh(
                h,
                "docker rm -f flannel-bench >/dev/null 2>&1; "
                "docker run -d --name flannel-bench flannel-probe:local sleep 100000 >/dev/null",
            )
            pid, ip = self.ssh(
                h, "docker inspect -f '{{.State.Pid}} {{.NetworkSettings.IPAddress}}' flannel-bench"
            ).split()
            pids[h["name"]] = (pid, ip)
        pid_a, _ = pids[a["name"]]
        pid_b, ip_b = pids[b["name"]]
        self.ssh(
            b,
            "pkill -x iperf3; sleep 0.3; iperf3 -s -D -p 5202; "
            f"nsenter -t {pid_b} -n iperf3 -s -D -p 5201; sleep 0.5",
        )
        seconds = self.args.iperf_seconds
        underlay, overlay = [], []
        for _ in range(self.args.iperf_rounds):  # alternate, so load hits both alike
            underlay.append(iperf(self.ssh(a, f"iperf3 -J -t {seconds} -p 5202 -c {b['address']}")))
            overlay.append(
                iperf(
                    self.ssh(a, f"nsenter -t {pid_a} -n iperf3 -J -t {seconds} -p 5201 -c {ip_b}")
                )
            )
        ping_under = ping(self.ssh(a, f"ping -q -c 20 -i 0.2 {b['address']}"))
        ping_over = ping(self.ssh(a, f"nsenter -t {pid_a} -n ping -q -c 20 -i 0.2 {ip_b}"))
        rss = {}
        for h in self.lab_hosts:
            out = self.ssh(h, "ps -o rss= -C flanneld").split()
            rss[h["name"]] = round(int(out[0]) / 1024, 1) if out else None
        mtu = self.ssh(a, f"sed -n 's/^FLANNEL_MTU=//p' {SUBNET_FILE}").strip()
        for h in (a, b):
            self.ssh(h, "pkill -x iperf3; docker rm -f flannel-bench >/dev/null", check=False)
        over, under = statistics.median(overlay), statistics.median(underlay)
        entry = {
            "backend": backend,
            "mtu": int(mtu),
            "iperf_seconds": seconds,
            "rounds": self.args.iperf_rounds,
            "container_gbps": [round(x, 3) for x in overlay],
            "host_gbps": [round(x, 3) for x in underlay],
            "container_gbps_median": round(over, 3),
            "host_gbps_median": round(under, 3),
            "ratio_to_underlay": round(over / under, 3),
            "rtt_ms_container": ping_over,
            "rtt_ms_host": ping_under,
            "flanneld_rss_mib": rss,
        }
        log(f"dataplane {backend}: {over:.2f} vs {under:.2f} Gbit/s ({over / under:.2f}x)")
        self.result["dataplane"].append(entry)

    # ---- report -------------------------------------------------------------
    def finish(self) -> None:
        r = self.result
        r["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        r["ansible_settings"] = ansible_settings()
        three = next((s for s in r["scale"] if s["hosts"] == 3), None)
        for s in r["scale"]:
            if three and "cold" in s and "cold" in three:
                s["cold_ratio_to_3"] = round(s["cold"]["wall_s"] / three["cold"]["wall_s"], 2)
            if three:
                s["noop_ratio_to_3"] = round(s["noop"]["wall_s"] / three["noop"]["wall_s"], 2)
        dp = {d["backend"]: d for d in r["dataplane"]}
        if "vxlan" in dp and "udp" in dp:
            ratio = dp["udp"]["container_gbps_median"] / dp["vxlan"]["container_gbps_median"]
            r["udp_vs_vxlan"] = {
                "ratio": round(ratio, 3),
                "classic_claim": CLASSIC_UDP_VS_VXLAN,
                "note": "classic guides: UDP streaming about 0.3x slower than VXLAN (ratio ~0.7)",
            }
        r["targets"] = targets(r)
        (self.out / "bench.json").write_text(json.dumps(r, indent=1) + "\n")
        (self.out / "bench.md").write_text(markdown(r))
        log(f"wrote {self.out / 'bench.json'} and {self.out / 'bench.md'}")
        print((self.out / "bench.md").read_text())


def network(backend: str) -> dict:
    return {"Network": str(LAB.flannel_network), "SubnetLen": 24, "Backend": {"Type": backend}}


def iperf(text: str) -> float:
    data = json.loads(text)
    return data["end"]["sum_received"]["bits_per_second"] / 1e9


def ping(text: str) -> dict:
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", text)
    loss = re.search(r"(\d+)% packet loss", text)
    if not m:
        raise SystemExit(f"bench: cannot read ping output: {text}")
    return {
        "min": float(m.group(1)),
        "avg": float(m.group(2)),
        "max": float(m.group(3)),
        "loss_pct": int(loss.group(1)) if loss else None,
    }


def machine() -> dict:
    mem = Path("/proc/meminfo").read_text().split("\n")[0].split()[1]
    return {
        "cpus": os.cpu_count(),
        "mem_gib": round(int(mem) / 1024 / 1024, 1),
        "kernel": os.uname().release,
    }


def ansible_settings() -> dict:
    config = str(Path(sys.executable).parent / "ansible-config")
    out = subprocess.run(
        [config, "dump", "--only-changed", "-t", "all"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    keep = (
        "PIPELINING",
        "FORKS",
        "GATHERING",
        "CACHE_PLUGIN",
        "SSH_ARGS",
        "FACT_CACHING",
        "CONTROL",
    )
    settings = {}
    for line in out.splitlines():
        key = line.split("(", 1)[0].strip()
        if any(k in key.upper() for k in keep):
            settings[key] = line.split("=", 1)[-1].strip()
    return settings


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="only the no-op and the CPU curve")
    p.add_argument(
        "--hosts",
        help="host counts for the scale runs (3 first); default 3,1,6, or 1,3,6,12 with --quick",
    )
    p.add_argument("--backends", default="vxlan,udp,host-gw")
    p.add_argument("--iperf-seconds", type=int, default=5)
    p.add_argument("--iperf-rounds", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "reports"))
    args = p.parse_args()
    os.chdir(ROOT)
    bench = Bench(args)
    counts = [
        int(x) for x in (args.hosts or ("1,3,6,12" if args.quick else "3,1,6")).split(",") if x
    ]
    bench.result["mode"] = "quick" if args.quick else "full"
    try:
        if args.quick:
            bench.quick(counts)
            bench.finish()
            return
        for n in counts:
            bench.scale(n)
        for backend in [b for b in args.backends.split(",") if b]:
            if not any(d["backend"] == backend for d in bench.result["dataplane"]):
                bench.dataplane(backend)
        bench.finish()
    finally:
        subprocess.run([bench.python, "-m", "lab", "down"], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
