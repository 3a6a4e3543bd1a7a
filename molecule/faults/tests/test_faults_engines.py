"""Docker engines on the converged faults cluster (issue 34), in order, on the same lab.

flab1 runs Debian's docker.io 26 (package method), flab2 Docker 28.5.2 and flab3 Docker
29.8.1 (repo method, the lab's docker-ce stand-in): see molecule.yml. The cluster checks
(verify 6/6 on the fresh converge) ran before tests/test_faults.py; these check what
each engine got, that the firewall rule is repaired by a run and re-applied by dockerd's
own restart, the nftables backend, and an in-place 26 -> 28 upgrade by the package
manager under the toolkit. Runs go to engines-runs.log in the ephemeral dir.
"""

import json
import os
import re

from tests.lab_run import EPHEMERAL, NODES, note, on, playbook, recap

RULE = "flannel-ansible: flannel network to containers"
IMAGE = "flannel-probe:local"
ENGINES = {"flab1": "26.", "flab2": "28.5.2", "flab3": "29.8.1"}


def site(*args: str) -> tuple[int, str, float]:
    return playbook("site.yml", *args, log="engines-runs.log")


def verify() -> tuple[int, str]:
    rc, out, _ = playbook("playbooks/verify.yml", log="engines-runs.log")
    return rc, out


def server_version(name: str) -> str:
    return on(name, "docker version --format '{{.Server.Version}}'")


def rule_present(name: str) -> bool:
    return RULE in on(name, "iptables -w -S DOCKER-USER 2>/dev/null || true")


def rule_comes_back(name: str, seconds: int = 15) -> bool:
    """`systemctl restart docker` returns once dockerd is up; the firewall unit, which
    systemd restarts with it (PartOf), runs right after: give it a moment."""
    script = (  # a subshell: its exit is the loop's result, not the ssh session's
        f"(for i in $(seq {seconds * 2}); do iptables -w -S DOCKER-USER 2>/dev/null "
        f"| grep -q '{RULE}' && exit 0; sleep 0.5; done; exit 1)"
    )
    return on(name, script + " && echo yes || echo no") == "yes"


def firewall_state(name: str) -> str:
    """What systemd and iptables say, for a failed check's message."""
    return on(
        name,
        f"systemctl show -p ActiveState,SubState,Result,ActiveEnterTimestamp,"
        f"InactiveEnterTimestamp {UNIT} docker.service; iptables -w -S DOCKER-USER; "
        f"journalctl -q -o short-precise -n 40 -u {UNIT} -u docker.service --no-pager || true",
    )


def started_at(name: str) -> str:
    return on(name, "docker inspect -f '{{.State.Running}} {{.State.StartedAt}}' engines-keeper")


def start_keepers() -> dict[str, str]:
    for name in NODES:
        on(name, "docker rm -f engines-keeper >/dev/null 2>&1 || true")
        on(name, f"docker run -d --name engines-keeper {IMAGE} /bin/httpd -f -p 8080 -h /bin")
    return {name: started_at(name) for name in NODES}


def test_each_node_runs_its_engine_with_what_it_needs():
    for name, want in ENGINES.items():
        assert server_version(name).startswith(want), (name, server_version(name))
    argv = {n: on(n, "tr '\\0' ' ' < /proc/$(pidof dockerd)/cmdline") for n in NODES}
    assert "--allow-direct-routing" not in argv["flab1"]
    assert "--allow-direct-routing" in argv["flab2"] and "--allow-direct-routing" in argv["flab3"]
    assert not rule_present("flab1")
    assert rule_present("flab2") and rule_present("flab3")
    assert on("flab1", f"test -e /etc/systemd/system/{UNIT} && echo yes || echo no") == "no"
    note("engines", {n: server_version(n) for n in NODES})


UNIT = "flannel-docker-firewall.service"


def test_a_flushed_rule_breaks_the_node_and_the_next_run_repairs_it():
    on("flab2", "iptables -w -F DOCKER-USER")
    rc, out = verify()
    assert rc != 0, "verify passed without the DOCKER-USER rule: the rule is not needed"
    assert "-> flab2" in out
    keepers = start_keepers()
    rc, out, secs = site("--skip-tags", "verify")
    note("repair_rule_s", secs)
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert counts["flab2"]["changed"] >= 1 and counts["flab1"]["changed"] == 0, counts
    assert rule_present("flab2")
    assert {n: started_at(n) for n in NODES} == keepers, "a container restarted"
    rc, out = verify()
    assert rc == 0, out[-3000:]


def test_dockerd_restarted_by_hand_brings_the_rule_back():
    # On the 28 and the 29 node: a restart by systemctl, then a crash (systemd restarts
    # dockerd itself). `systemctl restart docker` returns once dockerd is up; the unit
    # runs right after it (rule_comes_back waits for that).
    for name in ("flab2", "flab3"):
        on(name, "iptables -w -F DOCKER-USER && systemctl reset-failed docker "
                 "&& systemctl restart docker")  # fmt: skip
        assert rule_comes_back(name), firewall_state(name)
        on(name, "iptables -w -F DOCKER-USER && kill -9 $(pidof dockerd)")
        on(name, "for i in $(seq 30); do systemctl is-active -q docker && break; sleep 1; done")
        assert rule_comes_back(name), firewall_state(name)
        on(name, "docker start engines-keeper >/dev/null")
    rc, out = verify()
    assert rc == 0, out[-3000:]


def test_nftables_backend_on_docker_29_and_back():
    args = ["--limit", "flab3,localhost", "--skip-tags", "verify"]
    # a host variable, as an operator sets it: an extra var would give every node nftables,
    # and the preflight refuses it for the 28 node (below)
    nft = os.path.join(EPHEMERAL, "nftables-flab3.yml")
    with open(nft, "w") as fh:
        json.dump({"all": {"hosts": {"flab3": {"docker_firewall_backend": "nftables"}}}}, fh)
    rc, out, _ = site("-i", nft, *args)
    assert rc == 0, out[-3000:]
    backend = on("flab3", "docker info --format '{{json .FirewallBackend}}'")
    assert json.loads(backend)["Driver"] == "nftables"
    assert "flannel-docker" in on("flab3", "nft list tables")
    assert not rule_present("flab3"), "the iptables rule stayed after the switch"
    rc, out = verify()
    assert rc == 0, out[-3000:]
    # an engine without the nftables backend (flab2 pins 28.5.2) is refused by the
    # preflight, before any host is touched
    rc, out, _ = site("--limit", "flab2,localhost", "-e", "docker_firewall_backend=nftables")
    assert rc != 0 and "nftables needs Docker 29 or later" in out, out[-2000:]
    assert "docker_version: '28.5.2' on host(s) flab2" in out, out[-2000:]
    assert "flab2" not in recap(out), "the refused run reached flab2"
    rc, out, _ = site(*args)
    assert rc == 0, out[-3000:]
    assert "flannel-docker" not in on("flab3", "nft list tables")
    assert rule_present("flab3")


def test_in_place_upgrade_26_to_28_is_adopted_by_the_next_run():
    keepers = start_keepers()
    repo = on("flab1", "sed -n 's#^deb \\[trusted=yes\\] \\(http://[^ ]*\\)/trixie ./#\\1#p' "
              "/etc/apt/sources.list")  # fmt: skip
    on("flab1", f"echo 'deb [trusted=yes] {repo}/trixie-sid ./' > /etc/apt/sources.list.d/sid.list")
    on("flab1", "apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive "
                "apt-get install -y -q docker.io docker-cli >/dev/null", timeout=600)  # fmt: skip
    assert on("flab1", "dockerd --version").startswith("Docker version 28.5.2")
    before = {n: started_at(n) for n in NODES}
    rc, out, secs = site()
    note("in_place_upgrade_s", secs)
    assert rc == 0, out[-3000:]
    assert re.search(r"PASS: 6/6", out), out[-3000:]
    assert server_version("flab1").startswith("28.5.2")
    assert rule_present("flab1")
    for name in ("flab2", "flab3"):
        assert started_at(name) == keepers[name] == before[name], f"{name}'s container restarted"
    counts = recap(out)
    assert counts["flab2"]["changed"] == 0 and counts["flab3"]["changed"] == 0, counts


def test_engines_rerun_changes_nothing():
    rc, out, _ = site()
    assert rc == 0, out[-3000:]
    counts = recap(out)
    assert all(r["changed"] == 0 for r in counts.values()), counts
