"""Faults and live changes on a converged cluster, in order, on the same 3 lab hosts.

Each test does what an operator would (kill a daemon, kill a run, switch the backend,
lose docker0, run --check --diff) and checks what runs afterwards: PIDs, argv, routes,
leases, containers. Timings go to stdout (pytest -s shows them) and to faults.json in the
scenario's ephemeral directory.
"""

import json
import os
import re
import signal
import time

import pytest

from tests.lab_helpers import shared_defaults
from tests.lab_run import EPHEMERAL, HOSTS, NODES, lease_env, on, playbook, recap
from tests.lab_run import note as lab_note

# The faults scenario runs with the shared defaults' paths.
OPTS_FILE = shared_defaults()["flannel_docker_opts_file"]

REPORT = os.path.join(EPHEMERAL, "overlay.json")
NETWORK = "10.244.0.0/16"
MTU = {"vxlan": 1450, "host-gw": 1500, "udp": 1472}
IMAGE = "flannel-probe:local"
MARGIN = "-subnet-lease-renew-margin=61"


def note(key: str, value: object) -> None:
    """Keep a figure for the issue note (faults.json in the ephemeral dir)."""
    lab_note(key, value, "faults.json")


def site(*args: str, kill_at: str | None = None) -> tuple[int, str, float]:
    return playbook("site.yml", *args, kill_at=kill_at, log="faults-runs.log")


def backend_args(backend: str) -> list[str]:
    config = {"Network": NETWORK, "SubnetLen": 24, "Backend": {"Type": backend}}
    return ["-e", json.dumps({"flannel_network_config": config})]


def pid(name: str, unit: str) -> int:
    return int(on(name, f"systemctl show -p MainPID --value {unit}"))


def argv_of(name: str, unit: str) -> str:
    return on(name, f"tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value {unit})/cmdline")


def subnet(name: str) -> str:
    return lease_env(name).get("FLANNEL_SUBNET", "")


def start_keeper(name: str) -> str:
    """A long-running container that must survive what the test does; returns its id."""
    on(name, "docker rm -f keeper >/dev/null 2>&1 || true")
    return on(name, f"docker run -d --name keeper {IMAGE} /bin/httpd -f -p 8080 -h /bin")


def keeper_running(name: str) -> bool:
    return on(
        name, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' keeper", check=False
    )


def healthz(name: str) -> str:
    url = "http://127.0.0.1:8286/healthz"
    code = f"import urllib.request as u; print(u.urlopen('{url}', timeout=3).status)"
    return on(name, f'python3 -c "{code}"', check=False)


@pytest.fixture(scope="module")
def keepers() -> dict[str, str]:
    return {name: keeper_running(name) for name in NODES if start_keeper(name)}


def test_sigkill_of_flanneld_leaves_dockerd_and_containers_alone(keepers):
    name = NODES[1]
    dockerd, flanneld, before = pid(name, "docker"), pid(name, "flanneld"), subnet(name)
    on(name, f"kill -9 {flanneld}")
    start = time.monotonic()
    while True:
        state = on(name, "systemctl show -p ActiveState --value flanneld")
        if state == "active" and pid(name, "flanneld") not in (0, flanneld):
            break
        assert time.monotonic() - start < 60, f"flanneld on {name} not back within 60 s ({state})"
        time.sleep(0.5)
    note("sigkill_flanneld_back_s", round(time.monotonic() - start, 1))
    assert pid(name, "docker") == dockerd, "dockerd was restarted along with flanneld"
    assert keeper_running(name) == keepers[name], "the running container was stopped"
    assert subnet(name) == before
    assert healthz(name) == "200"


def test_killed_run_leaves_restarts_owed_and_the_next_run_does_them(keepers):
    # Kill the run once the flannel play has written the new options, before any restart.
    rc, out, secs = site(
        "-e", json.dumps({"flannel_extra_args": [MARGIN]}), kill_at="TASK [docker : Install Docker"
    )
    assert rc == -signal.SIGKILL, out[-2000:]
    note("interrupted_run_killed_after_s", secs)
    for name in NODES:
        assert MARGIN in on(name, "cat /etc/default/flanneld")
        assert MARGIN not in argv_of(name, "flanneld"), f"{name}: restarted before the kill point"
    # Lose Docker's side of one node as well, and stop dockerd on another: the same re-run
    # must repair them (docker0 and the options file come back through a Docker restart).
    broken, stopped = NODES[2], NODES[0]
    on(broken, f"rm -f {OPTS_FILE} && ip link delete docker0")
    on(stopped, "systemctl stop docker.socket docker.service")
    dockerd = {name: pid(name, "docker") for name in NODES}
    rc, out, secs = site("-e", json.dumps({"flannel_extra_args": [MARGIN]}))
    assert rc == 0, out[-3000:]
    note("rerun_after_interrupt_s", secs)
    for name in NODES:
        assert MARGIN in argv_of(name, "flanneld"), f"{name}: the owed flanneld restart was lost"
    assert pid(NODES[1], "docker") == dockerd[NODES[1]], (
        "dockerd restarted on a node that needed none"
    )
    assert keeper_running(NODES[1]) == keepers[NODES[1]]
    for name in (broken, stopped):
        assert on(name, "systemctl is-active docker") == "active"
        assert subnet(name) in on(name, "ip -4 -o addr show dev docker0")
        assert on(name, f"cat {OPTS_FILE}").startswith("DOCKER_NETWORK_OPTIONS=")
    with open(REPORT) as fh:
        assert json.load(fh)["ok"] is True


def routes_match(name: str, backend: str, peers: dict[str, str]) -> list[str]:
    """Problems with this node's routes to the other nodes' subnets for the backend."""
    table = on(name, "ip -4 route show")
    problems = []
    if backend == "udp":
        if not re.search(rf"^{re.escape(NETWORK)} dev flannel0", table, re.M):
            problems.append(f"{name}: no {NETWORK} route into flannel0")
    for peer, (peer_subnet, peer_ip) in peers.items():
        if peer == name:
            continue
        line = next((x for x in table.splitlines() if x.startswith(peer_subnet + " ")), "")
        want = {"vxlan": "dev flannel.1 onlink", "host-gw": f"via {peer_ip} dev"}.get(backend)
        if backend == "udp" and line:
            problems.append(f"{name}: leftover route {line!r} shadows flannel0")
        elif want and want not in line:
            problems.append(f"{name}: route to {peer} is {line!r}, want {want!r}")
    return problems


@pytest.mark.parametrize("backend", ["host-gw", "udp", "vxlan"])
def test_backend_switch_applies_on_the_running_cluster(backend):
    before = {name: subnet(name) for name in NODES}
    rc, out, secs = site(*backend_args(backend))
    assert rc == 0, out[-3000:]
    note(f"switch_to_{backend}_s", secs)
    peers = {
        name: (re.sub(r"\.1/", ".0/", before[name]), HOSTS[name]["ansible_host"]) for name in NODES
    }
    problems = []
    for name in NODES:
        problems += routes_match(name, backend, peers)
        mtu = lease_env(name).get("FLANNEL_MTU", "0")
        if int(mtu) != MTU[backend]:
            problems.append(f"{name}: FLANNEL_MTU {mtu}, want {MTU[backend]}")
        if subnet(name) != before[name]:
            problems.append(f"{name}: subnet moved {before[name]} -> {subnet(name)}")
        key = "/coreos.com/network/subnets/" + peers[name][0].replace("/", "-")
        lease = on(
            name,
            f"set -a; . /etc/etcd/etcdctl.env; set +a; etcdctl get --print-value-only {key}",
            check=False,
        )
        if lease and json.loads(lease).get("BackendType", "udp") != backend:
            problems.append(f"{name}: lease says {lease}")
    assert problems == []
    with open(REPORT) as fh:
        report = json.load(fh)
    assert report["ok"] is True
    assert {n["backend"] for n in report["nodes"]} == {backend}


def test_check_diff_on_the_converged_cluster_changes_nothing_and_shows_no_key():
    rc, out, secs = site("--check", "--diff")
    note("check_diff_s", secs)
    assert rc == 0, out[-3000:]
    assert all(r["changed"] == 0 for r in recap(out).values()), recap(out)
    assert "PRIVATE KEY" not in out


def test_tags_flannel_runs_only_flannel_and_changes_nothing():
    rc, out, secs = site("--tags", "flannel")
    note("tags_flannel_s", secs)
    assert rc == 0, out[-3000:]
    assert all(r["changed"] == 0 for r in recap(out).values()), recap(out)
    assert "TASK [flannel : " in out
    # Ansible tags each role's argument validation `always`; it only validates.
    tasks = [
        t
        for t in re.findall(r"^TASK \[([^\]]+)\]", out, re.M)
        if "Validating arguments against arg spec" not in t
    ]
    others = [
        t
        for t in tasks
        if t.startswith(("etcd : ", "docker : "))
        or t
        in (
            "flannel_verify : Read the node's state and start its probe",
            "Restart Docker on this batch",
        )
    ]
    assert others == [], "tasks outside the flannel plays ran"


def test_rerun_changes_nothing():
    rc, out, secs = site()
    note("noop_rerun_s", secs)
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert set(NODES) <= set(counts)
    assert all(r["changed"] == 0 for r in counts.values()), counts
    assert not re.search(r"(flanneld|Docker) on \S+ (re)?starts", out), "a restart in a no-op run"
