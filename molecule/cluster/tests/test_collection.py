"""The built collection, installed into a clean collections path, run by FQCN on the
converged cluster (tests/collection/fqcn.yml: flannel_ansible.flannel.site, then the
collection's mk_docker_opts against every node's options file). Nothing of the
repository's roles, library or filter_plugins is on Ansible's paths. The run must pass
verify and change nothing: the collection's roles are the same roles.

It runs where CLUSTER_COLLECTION=1 (make test sets it on the faults scenario, which runs
these checks on trixie; make check on its trixie cluster run);
elsewhere it is skipped, saying so.
"""

import json
import os
import re
import subprocess
import sys
import time

import pytest

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
PROJECT = os.environ["MOLECULE_PROJECT_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
REPORT = os.path.join(EPHEMERAL, "overlay.json")

pytestmark = pytest.mark.skipif(
    os.environ.get("CLUSTER_COLLECTION") != "1",
    reason="the collection run is on the trixie cluster run only (CLUSTER_COLLECTION=1)",
)


def test_collection_by_fqcn_passes_verify_and_changes_nothing():
    build = subprocess.run(
        [sys.executable, os.path.join(PROJECT, "scripts", "build_collection.py"),
         "--install", os.path.join(EPHEMERAL, "collection")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    cfg = build.stdout.strip().splitlines()[-1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=cfg, ANSIBLE_FORCE_COLOR="0", ANSIBLE_PIPELINING="1")
    before = os.path.getmtime(REPORT)
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", "-i", INVENTORY,
         os.path.join(PROJECT, "tests", "collection", "fqcn.yml")],
        capture_output=True, text=True, timeout=900, env=env, cwd=EPHEMERAL,
    )  # fmt: skip
    secs = round(time.monotonic() - start, 1)
    out = proc.stdout + proc.stderr
    with open(os.path.join(EPHEMERAL, "collection-run.log"), "w") as fh:
        fh.write(out)
    print(f"FIGURE collection FQCN run: rc={proc.returncode} in {secs}s")
    assert proc.returncode == 0, out[-4000:]
    # Ansible ran the collection's roles, not the repository's.
    assert "TASK [flannel_ansible.flannel.flannel : " in out, out[-2000:]
    recap = re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", out, re.M)
    assert recap and all(int(n) == 0 for _, n in recap), recap
    assert "PASS" in out
    assert os.path.getmtime(REPORT) > before
    with open(REPORT) as fh:
        report = json.load(fh)
    assert report["verdict"] == "PASS" and report["problems"] == [], report["summary"]
    print("FIGURE collection recap:", recap)
