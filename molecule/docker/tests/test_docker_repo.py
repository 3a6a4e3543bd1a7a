"""docker_install_method: repo against the lab's signed docker-ce stand-in, on flab1.

In order: a key with the wrong fingerprint is refused before anything is written; a
key that does not sign the repository fails with apt's reason and leaves no source
behind; the right key installs the pinned docker_version (the repository also has a
newer one), docker-ce replaces docker.io, and dockerd runs again with the lease's
options; a second run changes nothing. Runs after test_docker.py on the same lab.
"""

import json
import os
import re
import subprocess

import pytest
import testinfra

from tests.lab_helpers import subnet_env

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
SCENARIO = os.environ["MOLECULE_SCENARIO_DIRECTORY"]
EPHEMERAL = os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]
STATE = os.environ.get("FLAB_STATE", "/var/lib/flannel-lab")
HOST = "flab1"
SOURCES = "/etc/apt/sources.list.d/docker.sources"
KEYRING = "/etc/apt/keyrings/docker.asc"
LOGS = os.path.join(os.environ.get("FLAB_CACHE", ".cache"), "logs")
PINNED = "26.1.5"  # lab/dockerce.py serves 26.1.5 and 27.3.1

with open(os.path.join(STATE, "lab.json")) as _fh:
    _LAB = json.load(_fh)
REPO = _LAB["docker_repo"]


@pytest.fixture(scope="module")
def flab1():
    return testinfra.get_host(f"ansible://{HOST}?ansible_inventory={INVENTORY}")


def run_role(**extra: str) -> tuple[int, str]:
    os.makedirs(LOGS, exist_ok=True)
    settings = {
        "docker_repo_url": REPO["url"],
        "docker_repo_key_url": REPO["url"] + "/debian/gpg",
        "docker_repo_key_fingerprint": REPO["key_fingerprint"],
        "docker_version": PINNED,
        **extra,
    }
    path = os.path.join(EPHEMERAL, "repo-vars.json")
    with open(path, "w") as fh:
        json.dump(settings, fh)
    argv = ["ansible-playbook", "-i", INVENTORY, os.path.join(SCENARIO, "repo.yml"),
            "-l", HOST, "-e", f"@{path}"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    with open(os.path.join(LOGS, "molecule-docker-repo-runs.log"), "a") as fh:
        fh.write(f"\n===== {settings} rc={proc.returncode}\n{output}")
    return proc.returncode, output


def changed(output: str) -> int:
    found = re.search(rf"^{HOST}\s+: ok=\d+\s+changed=(\d+)", output, re.M)
    assert found, output[-2000:]
    return int(found[1])


def one_line(output: str) -> str:
    return re.sub(r"\s+", " ", output)


def test_a_key_with_another_fingerprint_is_refused_before_any_change(flab1):
    rc, out = run_role(docker_repo_key_url=REPO["url"] + "/debian/wrong-key.gpg")
    assert rc != 0
    assert (
        f"docker_repo_key_fingerprint: the key at {REPO['url']}/debian/wrong-key.gpg has "
        f"fingerprint {REPO['wrong_key_fingerprint']}, not {REPO['key_fingerprint']}; "
        f"nothing was changed on {HOST}."
    ) in one_line(out)
    assert not flab1.file(SOURCES).exists and not flab1.file(KEYRING).exists


def test_a_key_that_does_not_sign_the_repository_fails_and_leaves_no_source(flab1):
    rc, out = run_role(
        docker_repo_key_url=REPO["url"] + "/debian/wrong-key.gpg",
        docker_repo_key_fingerprint=REPO["wrong_key_fingerprint"],
    )
    assert rc != 0
    text = one_line(out)
    assert f"Docker's repository {REPO['url']}/debian" in text
    assert "could not be read with the key from" in text
    assert "The source and key were removed again" in text
    at = text.index(f"Docker's repository {REPO['url']}/debian")
    print("FIGURE wrong-key message:", text[at:][:700])
    assert not flab1.file(SOURCES).exists and not flab1.file(KEYRING).exists
    status = flab1.run("dpkg-query -W -f '${db:Status-Abbrev}' docker-ce").stdout
    assert not status.startswith("ii"), status


def test_the_right_key_installs_the_pinned_version(flab1):
    rc, out = run_role()
    assert rc == 0, out[-3000:]
    sources = flab1.file(SOURCES).content_string
    assert f"URIs: {REPO['url']}/debian" in sources
    assert f"Signed-By: {KEYRING}" in sources
    release = flab1.check_output(". /etc/os-release && echo $VERSION_CODENAME")
    assert f"Suites: {release}" in sources
    installed = flab1.check_output("dpkg-query -W -f '${Version}' docker-ce")
    assert installed.startswith(f"5:{PINNED}-1~debian."), installed
    policy = flab1.check_output("apt-cache madison docker-ce")
    assert "5:27.3.1-1" in policy  # a newer one was there, and the pin held
    assert flab1.check_output("dpkg-query -W -f '${Version}' docker-ce-cli") == installed
    # docker-ce conflicts with and replaces docker.io, as Docker's own package does.
    assert flab1.check_output("dpkg -S /usr/sbin/dockerd").startswith("docker-ce:")
    status = flab1.run("dpkg-query -W -f '${db:Status-Abbrev}' docker.io").stdout
    assert not status.startswith("ii"), status
    # The package scripts restarted dockerd; it came back through the drop-in with the
    # lease's options.
    env = subnet_env(flab1)
    argv = flab1.check_output("tr '\\0' ' ' < /proc/$(systemctl show -P MainPID docker)/cmdline")
    assert f"--bip={env['FLANNEL_SUBNET']}" in argv and f"--mtu={env['FLANNEL_MTU']}" in argv


def test_a_second_run_changes_nothing():
    rc, out = run_role()
    assert rc == 0, out[-3000:]
    assert changed(out) == 0, out[-3000:]
