"""What the lab scenarios that drive whole playbooks share (faults, day2): the molecule
inventory's hosts, a shell command on a host over ssh, ansible-playbook runs (killable
at a line of their output), the PLAY RECAP parsed, and the FIGURE notes kept for the
issue notes. Import as ``from tests.lab_run import ...`` inside a molecule verifier.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import time

import yaml

from module_utils.flannel_docker_opts import parse_subnet_env
from tests.lab_helpers import shared_defaults

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]

with open(INVENTORY) as _fh:
    HOSTS = yaml.safe_load(_fh)["all"]["hosts"]
NODES = sorted(HOSTS)


def note(key: str, value: object, figures: str = "figures.json") -> None:
    """Keep a figure for the issue note: printed, and merged into the JSON file."""
    print(f"FIGURE {key}: {value}")
    path = os.path.join(EPHEMERAL, figures)
    data = {}
    if os.path.exists(path):
        with open(path) as fh:
            data = json.load(fh)
    data[key] = value
    with open(path, "w") as fh:
        json.dump(data, fh, indent=2)


def ssh_argv(name: str, cmd: str) -> list[str]:
    hv = HOSTS[name]
    key = hv.get("ansible_private_key_file") or os.path.join(
        os.environ.get("FLAB_STATE", "/var/lib/flannel-lab"), "ssh", "id_ed25519"
    )
    return [
        "ssh", "-i", key, "-p", str(hv.get("ansible_port", 22)),
        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
        "-o", "LogLevel=ERROR",
        "-o", "BatchMode=yes", "-o", "ControlMaster=auto", "-o", "ControlPersist=60s",
        "-o", f"ControlPath=/tmp/lab-ssh-%h-{os.getpid()}",
        f"{hv.get('ansible_user', 'root')}@{hv['ansible_host']}", cmd,
    ]  # fmt: skip


def on(name: str, cmd: str, check: bool = True, timeout: int = 120) -> str:
    """Run a shell command on a lab host over ssh (the molecule inventory's settings)."""
    proc = subprocess.run(ssh_argv(name, cmd), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{name}: {cmd!r} exited {proc.returncode}: {proc.stdout}{proc.stderr}"
        )
    return proc.stdout.strip()


def lease_env(name: str) -> dict[str, str]:
    """The node's subnet file (the shared default path) read by the toolkit's own
    parser, as in the roles and the testinfra tests; {} when the file is missing."""
    path = shared_defaults()["flannel_subnet_file"]
    return parse_subnet_env(on(name, f"cat {path} 2>/dev/null || true"), f"{name}:{path}")


def recap(output: str) -> dict[str, dict[str, int]]:
    out = {}
    for m in re.finditer(
        r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output, re.M
    ):
        out[m[1]] = {
            "ok": int(m[2]),
            "changed": int(m[3]),
            "unreachable": int(m[4]),
            "failed": int(m[5]),
        }
    return out


def playbook(
    path: str, *args: str, kill_at: str | None = None, log: str = "runs.log"
) -> tuple[int, str, float]:
    """ansible-playbook PATH (relative to the project) against the scenario's inventory;
    with kill_at, the whole run is SIGKILLed as soon as that text appears in its output.
    Returns rc, output, seconds; every run is appended to LOG in the ephemeral dir."""
    argv = ["ansible-playbook", "-i", INVENTORY, os.path.join(PROJECT, path), *args]
    start = time.monotonic()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if kill_at and kill_at in line:
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait()
    output = "".join(lines)
    with open(os.path.join(EPHEMERAL, log), "a") as fh:
        fh.write(f"\n===== {shlex.join(argv)} (kill_at={kill_at!r}) rc={proc.returncode}\n{output}")
    return proc.returncode, output, round(time.monotonic() - start, 1)
