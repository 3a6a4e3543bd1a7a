"""Day-2 operations on one converged 3-host cluster, in order (see molecule.yml).

etcd runs from a controller-local release archive (ETCD_OLD) and flanneld is FLANNEL_OLD.
The tests take a backup, check the upgrade refusals, upgrade etcd and flanneld under
continuous probes (container -> container pings every 0.2 s on every pair, etcd writes
every 0.2 s from the controller), restore every member from a backup after deleting all
their data, and remove a node and add it back. Figures go to stdout (FIGURE lines) and to
day2.json in the scenario's ephemeral directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tests.lab_helpers import shared_defaults
from tests.lab_run import EPHEMERAL, HOSTS, NODES, lease_env, on, playbook, recap
from tests.lab_run import note as lab_note

CACHE = os.environ["FLAB_CACHE"]
ETCD_OLD, ETCD_NEW = os.environ["FLAB_ETCD_OLD"], os.environ["FLAB_ETCD_NEW"]
FLANNEL_OLD, FLANNEL_NEW = os.environ["FLAB_FLANNEL_OLD"], os.environ["FLAB_FLANNEL_NEW"]
PREFIX = shared_defaults()["flannel_etcd_prefix"]
IMAGE = "flannel-probe:local"
PKI = Path(EPHEMERAL) / "inventory/.etcd-pki/flannel-etcd"
BACKUPS = Path(EPHEMERAL) / "backups"
TOOLS = Path(EPHEMERAL) / "tools"


def archive(version: str) -> str:
    return f"{CACHE}/etcd/etcd-v{version}-linux-amd64.tar.gz"


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# Every run after the upgrade names the new versions, as an operator's inventory would.
NEW = [
    "-e", f"etcd_version={ETCD_NEW}", "-e", f"etcd_archive_src={archive(ETCD_NEW)}",
    "-e", f"etcd_archive_checksum=sha256:{sha256(archive(ETCD_NEW))}",
    "-e", f"flannel_version={FLANNEL_NEW}",
    "-e", f"flannel_binary_src={CACHE}/flanneld/{FLANNEL_NEW}/flanneld",
]  # fmt: skip


def note(key: str, value: object) -> None:
    lab_note(key, value, "day2.json")


def run(path: str, *args: str) -> tuple[int, str, float]:
    return playbook(path, *args, log="day2-runs.log")


def etcdctl(*args: str, timeout: int = 5) -> subprocess.CompletedProcess[str]:
    """The new release's etcdctl on the controller, with the role's client certificate."""
    if not (TOOLS / "etcdctl").exists():
        TOOLS.mkdir(exist_ok=True)
        with tarfile.open(archive(ETCD_NEW)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    member.name = os.path.basename(member.name)
                    tar.extract(member, TOOLS, filter="data")
    endpoints = ",".join(f"https://{HOSTS[n]['ansible_host']}:2379" for n in NODES)
    argv = [
        str(TOOLS / "etcdctl"), f"--endpoints={endpoints}", f"--cacert={PKI}/ca.crt",
        f"--cert={PKI}/etcdctl.crt", f"--key={PKI}/etcdctl.key",
        "--dial-timeout=2s", f"--command-timeout={timeout}s", *args,
    ]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 10)


def leases() -> dict[str, str]:
    """The flannel lease keys with their PublicIP, read from etcd."""
    proc = etcdctl("get", "--prefix", f"{PREFIX}/subnets/", "-w", "json")
    assert proc.returncode == 0, proc.stderr
    import base64

    out = {}
    for kv in json.loads(proc.stdout).get("kvs", []):
        key = base64.b64decode(kv["key"]).decode().rsplit("/", 1)[1]
        out[key] = json.loads(base64.b64decode(kv["value"]))["PublicIP"]
    return dict(sorted(out.items()))


def members() -> list[str]:
    proc = etcdctl("member", "list", "-w", "json")
    assert proc.returncode == 0, proc.stderr
    return sorted(m.get("name", "") for m in json.loads(proc.stdout)["members"])


def subnet(name: str) -> str:
    return lease_env(name).get("FLANNEL_SUBNET", "")


def restarted_per_task(out: str, task: str) -> list[list[str]]:
    """The hosts reported `changed` under each run of the task, in output order.
    Tasks that a handler includes print as RUNNING HANDLER, not TASK."""
    runs: list[list[str]] = []
    for block in re.split(r"^(?:TASK|RUNNING HANDLER) \[", out, flags=re.M)[1:]:
        if block.startswith(task + "]"):
            runs.append(re.findall(r"^changed: \[(\S+?)\]", block, flags=re.M))
    return runs


def pid(name: str, unit: str) -> int:
    return int(on(name, f"systemctl show -p MainPID --value {unit}"))


def start_keeper(name: str) -> str:
    """A long-running container (the ping target); returns its overlay address."""
    on(name, "docker rm -f keeper >/dev/null 2>&1 || true")
    on(name, f"docker run -d --name keeper {IMAGE} /bin/httpd -f -p 8080 -h /bin")
    return on(name, "docker inspect -f '{{.NetworkSettings.IPAddress}}' keeper")


def keeper_state(name: str) -> str:
    return on(
        name, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keeper", check=False
    )


class WriteProbe(threading.Thread):
    """etcd writes every 0.2 s from the controller through all members; counts failures."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.ok = self.failed = 0
        self.errors: list[str] = []
        self.worst_ms = 0.0

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            start = time.monotonic()
            proc = etcdctl("put", "/day2-probe/write", str(n), timeout=3)
            ms = (time.monotonic() - start) * 1000
            if proc.returncode == 0:
                self.ok += 1
                self.worst_ms = max(self.worst_ms, ms)
            else:
                self.failed += 1
                self.errors.append(f"#{n}: {proc.stderr.strip()[-200:]}")
            self.stop.wait(max(0.0, 0.2 - (time.monotonic() - start)))


def start_pings(targets: dict[str, str]) -> None:
    """On every node, a container that pings every other node's keeper every 0.2 s."""
    for name in NODES:
        on(name, "docker rm -f lossprobe >/dev/null 2>&1 || true")
        loops = " ".join(
            f"ping -i 0.2 -W 1 {ip} > /ping-{peer}.log 2>&1 &"
            for peer, ip in targets.items()
            if peer != name
        )
        # The container outlives its pings (sleep), so their logs can be read.
        # The image has no /tmp: the logs go to its root.
        on(name, f"docker run -d --name lossprobe {IMAGE} /bin/sh -c '{loops} wait; sleep 3600'")


def stop_pings() -> dict[str, dict[str, object]]:
    """Stop the pings (SIGINT prints their summary); per pair: sent, lost, lost seqs."""
    out = {}
    for name in NODES:
        # The probe image is busybox with a few links: call busybox's applets by name.
        on(name, "docker exec lossprobe /bin/busybox killall -INT ping; sleep 1")
        for peer in NODES:
            if peer == name:
                continue
            log = on(name, f"docker exec lossprobe /bin/busybox cat /ping-{peer}.log")
            sent = re.search(r"(\d+) packets transmitted, (\d+) packets received", log)
            seqs = {int(s) for s in re.findall(r"seq=(\d+)", log)}
            total = int(sent[1]) if sent else max(seqs, default=-1) + 1
            lost = sorted(set(range(total)) - seqs)
            out[f"{name}->{peer}"] = {"sent": total, "lost": len(lost), "lost_seqs": lost[:50]}
        on(name, "docker rm -f lossprobe >/dev/null")
    return out


STATE: dict[str, object] = {}


def test_etcd_runs_from_the_controller_archive_and_flanneld_is_the_old_release():
    for name in NODES:
        assert f"etcd Version: {ETCD_OLD}" in on(name, "/usr/local/bin/etcd --version")
        assert on(name, "readlink -f /usr/local/bin/etcd") == f"/opt/etcd/v{ETCD_OLD}/etcd"
        assert on(name, "test -x /usr/local/bin/etcdutl && echo yes") == "yes"
        assert on(name, "/usr/local/bin/flanneld -version 2>&1") == FLANNEL_OLD
    assert members() == NODES


def test_backup_fetches_a_checked_snapshot_to_the_controller():
    rc, out, secs = run("playbooks/etcd-backup.yml")
    assert rc == 0, out[-3000:]
    note("backup_s", secs)
    snaps = sorted(BACKUPS.glob("etcd-flannel-etcd-*.db"))
    assert snaps, out[-2000:]
    snap = snaps[-1]
    assert re.fullmatch(r"etcd-flannel-etcd-\d{8}T\d{6}Z\.db", snap.name)
    recorded = Path(f"{snap}.sha256").read_text().split()
    assert recorded == [sha256(snap), snap.name]
    status = subprocess.run(
        [str(TOOLS / "etcdutl"), "snapshot", "status", str(snap), "-w", "json"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    note("backup_snapshot", {"file": snap.name, **json.loads(status.stdout)})
    assert json.loads(status.stdout)["totalKey"] > 0


@pytest.mark.parametrize(
    "version,why",
    [
        ("3.7.3", "etcd upgrades one minor version at a time"),
        ("3.4.23", "does not support downgrades"),
    ],
)
def test_unsupported_version_changes_are_refused_before_any_host_changes(version, why):
    before = {name: pid(name, "etcd") for name in NODES}
    rc, out, _ = run("playbooks/upgrade.yml", "-e", f"etcd_version={version}")
    assert rc != 0
    assert f"runs etcd {ETCD_OLD} and etcd_version is {version}" in out and why in out, out[-3000:]
    assert all(r["changed"] == 0 for r in recap(out).values()), recap(out)
    assert {name: pid(name, "etcd") for name in NODES} == before
    for name in NODES:
        assert on(name, "ls /opt/etcd | grep -c '^v' || true") == "1"


def test_rolling_upgrade_keeps_leases_containers_and_etcd_writes():
    targets = {name: start_keeper(name) for name in NODES}
    keepers = {name: keeper_state(name) for name in NODES}
    dockerd = {name: pid(name, "docker") for name in NODES}
    subnets = {name: subnet(name) for name in NODES}
    table = leases()
    start_pings(targets)
    writes = WriteProbe()
    writes.start()
    rc, out, secs = run("playbooks/upgrade.yml", *NEW)
    writes.stop.set()
    writes.join()
    loss = stop_pings()
    note("upgrade_s", secs)
    note(
        "upgrade_etcd_writes",
        {
            "ok": writes.ok,
            "failed": writes.failed,
            "worst_ms": round(writes.worst_ms),
            "errors": writes.errors[:5],
        },
    )
    note("upgrade_ping_loss", loss)
    assert rc == 0, out[-4000:]
    for name in NODES:
        assert f"etcd Version: {ETCD_NEW}" in on(name, "/usr/local/bin/etcd --version")
        assert on(name, "/usr/local/bin/flanneld -version 2>&1") == FLANNEL_NEW
        # release_install: the links moved to the new version's directory; the old
        # release stays beside it.
        link = on(name, "readlink -f /usr/local/bin/flanneld")
        assert link == f"/opt/flannel/{FLANNEL_NEW}/flanneld"
        assert on(name, "readlink -f /usr/local/bin/etcdctl") == f"/opt/etcd/v{ETCD_NEW}/etcdctl"
        assert on(name, f"test -x /opt/flannel/{FLANNEL_OLD}/flanneld && echo kept") == "kept"
        assert f"flanneld batch check on {name}: kept {subnets[name]}" in out
        # The member restarted after a snapshot of its own.
        assert on(name, f"ls /var/backups/etcd | grep -c '^etcd-{name}-' || true") != "0"
        assert pid(name, "docker") == dockerd[name], f"{name}: dockerd restarted"
        assert keeper_state(name) == keepers[name], f"{name}: the running container was stopped"
        assert subnet(name) == subnets[name]
    assert leases() == table
    # The restarts were one at a time, in play order: each run of the handler's
    # "Restart etcd" task changed exactly one member.
    restarts = restarted_per_task(out, "etcd : Restart etcd")
    headers = [line for line in out.splitlines() if "Restart etcd" in line]
    assert restarts == [[name] for name in NODES], headers
    assert writes.failed == 0, writes.errors[:5]
    # A pair loses packets only while one of its ends has its flanneld restart (about
    # a second on vxlan); no pair may lose more than 5 s of pings.
    assert all(p["lost"] <= 25 for p in loss.values()), loss
    STATE["upgraded"] = True


def test_upgrade_rerun_changes_nothing():
    rc, out, secs = run("playbooks/upgrade.yml", *NEW)
    assert rc == 0, out[-3000:]
    note("upgrade_rerun_s", secs)
    assert all(r["changed"] == 0 for r in recap(out).values()), recap(out)


def test_restore_rebuilds_every_member_from_the_backup():
    rc, out, _ = run("playbooks/etcd-backup.yml", *NEW)
    assert rc == 0, out[-3000:]
    snap = sorted(BACKUPS.glob("etcd-flannel-etcd-*.db"))[-1]
    before, subnets = leases(), {name: subnet(name) for name in NODES}
    # The disaster: every member's data is gone.
    for name in NODES:
        on(name, "systemctl stop etcd && rm -rf /var/lib/etcd/cluster")
    assert etcdctl("get", "/x", timeout=2).returncode != 0
    rc, out, _ = run("playbooks/etcd-restore.yml", *NEW, "-e", f"etcd_restore_snapshot={snap}")
    assert rc != 0 and "etcd_restore_confirm" in out, out[-2000:]
    assert all(on(n, "systemctl is-active etcd", check=False) != "active" for n in NODES)
    rc, out, secs = run(
        "playbooks/etcd-restore.yml", *NEW, "-e", f"etcd_restore_snapshot={snap}",
        "-e", "etcd_restore_confirm=restore-etcd-snapshot",
    )  # fmt: skip
    note("restore_s", secs)
    assert rc == 0, out[-4000:]
    after = leases()
    note("restore_leases", {"before": before, "after": after})
    assert after == before
    assert {name: subnet(name) for name in NODES} == subnets
    assert members() == NODES
    proc = etcdctl("get", f"{PREFIX}/config", "--print-value-only")
    assert json.loads(proc.stdout)["Backend"]["Type"] == "vxlan"
    assert json.load(open(os.path.join(EPHEMERAL, "overlay.json")))["ok"] is True


def test_removal_that_would_break_quorum_is_refused():
    on(NODES[1], "systemctl stop etcd")
    try:
        rc, out, _ = run("playbooks/remove-node.yml", *NEW, "-e", f"remove_node={NODES[2]}")
        assert rc != 0
        assert "leaves 2 members, which need 2 healthy" in out, out[-3000:]
        assert all(r["changed"] == 0 for r in recap(out).values()), recap(out)
    finally:
        on(NODES[1], "systemctl start etcd")
    assert members() == NODES


def test_remove_node_then_add_it_back():
    gone = NODES[2]
    net = subnet(gone).replace(".1/", ".0/")
    rc, out, secs = run("playbooks/remove-node.yml", *NEW, "-e", f"remove_node={gone}")
    note("remove_node_s", secs)
    assert rc == 0, out[-4000:]
    assert members() == NODES[:2]
    assert net.replace("/", "-") not in leases()
    for name in NODES[:2]:
        assert on(name, f"ip -4 route show {net}") == "", f"{name} still routes {net}"
    assert on(gone, "systemctl is-active flanneld", check=False) != "active"
    assert "172.17.0.1/16" in on(gone, "ip -4 -o addr show dev docker0")
    rc, out, secs = run("site.yml", *NEW, "--limit", f"{gone},localhost")
    note("readd_node_s", secs)
    assert rc == 0, out[-4000:]
    assert members() == NODES
    rc, out, _ = run("playbooks/verify.yml", *NEW)
    assert rc == 0, out[-3000:]
    report = json.load(open(os.path.join(EPHEMERAL, "overlay.json")))
    note("readd_matrix", report["matrix"])
    assert report["ok"] is True
    assert len([p for p in report["pairs"] if p["ok"]]) == 6
