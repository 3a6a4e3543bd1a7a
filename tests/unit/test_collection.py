"""The collection built from this repository, installed and used by its FQCNs.

Once per module: scripts/build_collection.py builds the tarball into a temp dir,
`ansible-galaxy collection install --offline` installs it into another one (its
dependencies must be satisfied by the `ansible` bundle in the venv: no Galaxy), and a
minimal ansible.cfg there points collections_path at it and at nothing of the repository
(no roles_path, library, module_utils or filter_plugins). Every Ansible command below
runs with that config, outside the repository, so only the installed collection can
answer. Nothing here contacts a host: plays run on localhost (connection local).
"""

import json
import os
import subprocess
import sys
import tarfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.unit.loader import ROOT

BIN = Path(sys.executable).parent
FQCN = "flannel_ansible.flannel"
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
ROLES = {
    "flannel_common",
    "flannel_preflight",
    "release_install",
    "etcd",
    "flannel",
    "docker",
    "flannel_verify",
}
MODULES = ("mk_docker_opts", "applied_state")
DOC_FILES = sorted([*ROOT.glob("filter_plugins/*.yml"), *ROOT.glob("roles/*/filter_plugins/*.yml")])
FILTERS = {path.stem: yaml.safe_load(path.read_text()) for path in DOC_FILES}
LEASE = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\n"
LEASE += "FLANNEL_IPMASQ=true\n"
OPTS = "--bip=10.244.7.1/24 --ip-masq=false --mtu=1450"
INVENTORY = """\
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: "{{ ansible_playbook_python }}"
  children:
    etcd:
      hosts:
        localhost: {}
    nodes:
      hosts:
        localhost: {}
"""


@dataclass
class Installed:
    tarball: Path
    install_output: str
    cfg: Path
    work: Path

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """An Ansible command of the venv with the minimal config, run in the temp dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        env.update(ANSIBLE_CONFIG=str(self.cfg), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
        done = subprocess.run(
            [str(BIN / argv[0]), *argv[1:]],
            cwd=self.work,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check:
            assert done.returncode == 0, (
                f"{argv}: rc={done.returncode}\n{done.stdout}\n{done.stderr}"
            )
        return done

    def write(self, name: str, text: str) -> Path:
        path = self.work / name
        path.write_text(textwrap.dedent(text))
        return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    base = tmp_path_factory.mktemp("collection")
    built = subprocess.run(
        [sys.executable, str(ROOT / "scripts/build_collection.py"), "--out", str(base / "dist")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    tarball = Path(built.stdout.strip())
    collections = base / "collections"
    cfg = base / "ansible.cfg"
    cfg.write_text(f"[defaults]\ncollections_path = {collections}\nretry_files_enabled = False\n")
    work = base / "work"
    work.mkdir()
    result = Installed(tarball, "", cfg, work)
    done = result.run(
        "ansible-galaxy", "collection", "install", str(tarball), "-p", str(collections), "--offline"
    )
    result.install_output = done.stdout
    (work / "hosts.yml").write_text(INVENTORY)
    return result


def test_tarball_is_named_after_galaxy_yml(installed):
    name = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"
    assert installed.tarball.name == name
    assert GALAXY["namespace"] == "flannel_ansible" and GALAXY["name"] == "flannel"


def test_install_is_offline_and_the_bundle_satisfies_the_dependencies(installed):
    out = installed.install_output
    assert f"{FQCN}:{GALAXY['version']} was installed successfully" in out
    for dependency in GALAXY["dependencies"]:
        assert f"'{dependency}:" in out and "is already installed, skipping" in out


def test_tarball_layout(installed):
    with tarfile.open(installed.tarball) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert not [m.name for m in members.values() if m.issym() or m.islnk()]
        names = set(members)
        for role in ROLES:
            assert f"roles/{role}/meta/argument_specs.yml" in names
        assert not [n for n in names if "filter_plugins" in n]
        for module in MODULES:
            text = tar.extractfile(f"plugins/modules/{module}.py").read().decode()
            assert f"from ansible_collections.{FQCN}.plugins.module_utils.flannel_" in text
            assert "ansible.module_utils.flannel_" not in text
        helper = tar.extractfile("roles/flannel/files/flannel_docker_opts.py").read()
        assert helper == (ROOT / "module_utils/flannel_docker_opts.py").read_bytes()
        site = tar.extractfile("playbooks/site.yml").read().decode()
        assert "import_playbook: preflight.yml" in site and "playbooks/" not in site
        for name in ("preflight", "plan", "verify", "reset"):
            assert f"playbooks/{name}.yml" in names
        # playbook_dir is inside the installed collection: the report goes by the inventory.
        verify = tar.extractfile("roles/flannel_verify/defaults/main.yml").read().decode()
        assert "(inventory_dir | default(playbook_dir, true)) ~ '/reports/overlay.json'" in verify
        assert "regex_replace('/playbooks$'" not in verify
        probe = tar.extractfile("roles/flannel_verify/tasks/probe.yml").read().decode()
        assert f"| {FQCN}.flannel_verify_report(" in probe
        assert {
            "plugins/modules/overlay_check.py",
            "roles/flannel_verify/templates/overlay_report.txt.j2",
        } <= names
        assert {"meta/runtime.yml", "README.md", "MANIFEST.json"} <= names
        assert {f"plugins/filter/{name}.yml" for name in FILTERS} <= names
        # The shared preflight code the filters import (with `..module_utils`).
        assert {
            f"plugins/module_utils/flannel_preflight/{module}.py"
            for module in ("__init__", "model", "inventory", "plan", "rules", "report")
        } <= names
        assert not [n for n in names if "__pycache__" in n]
    # The repository itself is untouched: its modules still use the legacy import.
    assert (
        "from ansible.module_utils.flannel_docker_opts"
        in (ROOT / "library/mk_docker_opts.py").read_text()
    )


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_module(installed, module):
    done = installed.run("ansible-doc", "--json", f"{FQCN}.{module}")
    doc = json.loads(done.stdout)[f"{FQCN}.{module}"]["doc"]
    source = (ROOT / "library" / f"{module}.py").read_text()
    wanted = yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])
    assert doc["short_description"] == wanted["short_description"]
    assert doc["collection"] == FQCN
    text = installed.run("ansible-doc", f"{FQCN}.{module}").stdout
    assert text.startswith(f"> MODULE {FQCN}.{module}")


def test_ansible_doc_every_filter(installed):
    listed = installed.run("ansible-doc", "-t", "filter", "-l", "--json", FQCN).stdout
    assert set(json.loads(listed)) == {f"{FQCN}.{name}" for name in FILTERS}
    names = [f"{FQCN}.{name}" for name in sorted(FILTERS)]
    docs = json.loads(installed.run("ansible-doc", "-t", "filter", "--json", *names).stdout)
    assert set(docs) == set(names)
    for name, data in FILTERS.items():
        doc = docs[f"{FQCN}.{name}"]["doc"]
        assert doc["short_description"] == data["DOCUMENTATION"]["short_description"]
        assert doc["filename"].endswith(f"/plugins/filter/{name}.yml")
    # And each one on its own, as a user types it.
    for name in sorted(FILTERS):
        text = installed.run("ansible-doc", "-t", "filter", f"{FQCN}.{name}").stdout
        assert text.startswith(f"> FILTER {FQCN}.{name}")


def test_ansible_doc_roles(installed):
    done = installed.run("ansible-doc", "-t", "role", "-l", "--json", FQCN)
    roles = json.loads(done.stdout)
    assert set(roles) == {f"{FQCN}.{role}" for role in ROLES}
    for role in ROLES:
        # flannel_verify has two plays' entry points (start, probe) and no main.
        first = "start" if role == "flannel_verify" else "main"
        assert first in roles[f"{FQCN}.{role}"]["entry_points"]


@pytest.mark.parametrize("playbook", [f"{FQCN}.site", str(ROOT / "tests/collection/fqcn.yml")])
def test_syntax_check(installed, playbook):
    installed.run("ansible-playbook", "-i", "hosts.yml", "--syntax-check", playbook)


def test_plan_playbook_by_fqcn(installed):
    # The collection's plan playbook: its filters were rewritten to FQCNs by the build.
    done = installed.run("ansible-playbook", "-i", "hosts.yml", f"{FQCN}.plan")
    assert "Subnets:        255 available, 1 needed (group nodes): fits" in done.stdout


def test_module_and_filter_by_fqcn_on_localhost(installed):
    subnet = installed.write("subnet.env", LEASE)
    dest = installed.work / "docker_opts.env"
    play = installed.write(
        "local.yml",
        f"""\
        - name: The collection's module and a filter by FQCN
          hosts: localhost
          gather_facts: false
          tasks:
            - name: Write Docker's options from the lease
              {FQCN}.mk_docker_opts:
                subnet_file: {subnet}
                dest: {dest}
                individual_vars: false
                combined_key: DOCKER_NETWORK_OPTIONS
                check_routes: false
              register: opts

            - name: Check what it wrote and returned
              ansible.builtin.assert:
                that:
                  - opts is changed
                  - opts.docker_opts == ' {OPTS}'
                  - opts.bip == '--bip=10.244.7.1/24'
                  - lookup('ansible.builtin.file', '{dest}') == 'DOCKER_NETWORK_OPTIONS=" {OPTS}"'
                  - (1500 | {FQCN}.flannel_mtu_by_backend).vxlan == 1450
                  - ('[1, 2]' | {FQCN}.etcd_json_or_none) == [1, 2]
        """,
    )
    done = installed.run("ansible-playbook", "-i", "hosts.yml", str(play))
    assert "ok=2" in done.stdout and "failed=0" in done.stdout


def test_role_filters_resolve_inside_the_collection_role(installed):
    # A collection role loads no filter_plugins/ of its own: the etcd role's uses of its
    # filters were rewritten to FQCNs. validate.yml only asserts and reads facts.
    play = installed.write(
        "role.yml",
        f"""\
        - name: The etcd role's input checks, from the collection
          hosts: localhost
          gather_facts: false
          tasks:
            - name: A good network config passes
              ansible.builtin.include_role:
                name: {FQCN}.etcd
                tasks_from: validate.yml

            - name: A bad one fails with the filter's message
              block:
                - name: Validate a bad network config
                  ansible.builtin.include_role:
                    name: {FQCN}.etcd
                    tasks_from: validate.yml
                  vars:
                    flannel_network_config: {{Network: 10.244.0.0/16, SubnetLen: 31, Backend: {{}}}}
              rescue:
                - name: Check the message
                  ansible.builtin.assert:
                    that: "'SubnetLen: 31 is outside what flannel' in ansible_failed_result.msg"
        """,
    )
    done = installed.run("ansible-playbook", "-i", "hosts.yml", str(play))
    assert "failed=0" in done.stdout and "rescued=1" in done.stdout


def test_fqcn_playbook_node_play_on_localhost(installed):
    # tests/collection/fqcn.yml without its import of the site playbook (that one needs
    # the lab): its check of mk_docker_opts against the options file, on localhost.
    plays = yaml.safe_load((ROOT / "tests/collection/fqcn.yml").read_text())
    assert plays[0] == {
        "name": plays[0]["name"],
        "ansible.builtin.import_playbook": f"{FQCN}.site",
    }
    node_play = dict(plays[1], become=False)
    subnet = installed.write("fqcn-subnet.env", LEASE)
    opts_file = installed.write("fqcn-docker", f'DOCKER_NETWORK_OPTIONS=" {OPTS}"\n')
    play = installed.work / "fqcn-node.yml"
    play.write_text(yaml.safe_dump([node_play], sort_keys=False))
    extra = json.dumps(
        {"flannel_subnet_file": str(subnet), "flannel_docker_opts_file": str(opts_file)}
    )
    done = installed.run("ansible-playbook", "-i", "hosts.yml", str(play), "-e", extra)
    assert f"localhost: dockerd {OPTS}" in done.stdout
    assert opts_file.read_text() == f'DOCKER_NETWORK_OPTIONS=" {OPTS}"\n'
    # A file that disagrees with the lease fails the play.
    opts_file.write_text('DOCKER_NETWORK_OPTIONS=" --bip=10.244.9.1/24 --mtu=1450"\n')
    failed = installed.run(
        "ansible-playbook", "-i", "hosts.yml", str(play), "-e", extra, check=False
    )
    assert failed.returncode != 0 and "but mk_docker_opts derives" in failed.stdout


def test_install_option_prints_a_config_that_finds_the_collection(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts/build_collection.py"),
            "--out",
            str(tmp_path / "dist"),
            "--install",
            str(tmp_path / "inst"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    cfg = Path(done.stdout.strip())
    assert done.stdout.count("\n") == 1 and cfg == tmp_path / "inst" / "ansible.cfg"
    text = cfg.read_text()
    assert f"collections_path = {tmp_path / 'inst' / 'collections'}" in text
    for setting in ("roles_path", "library", "module_utils", "filter_plugins"):
        assert f"\n{setting}" not in text
    manifest = (
        tmp_path / "inst/collections/ansible_collections/flannel_ansible/flannel/MANIFEST.json"
    )
    assert json.loads(manifest.read_text())["collection_info"]["version"] == GALAXY["version"]


def test_requirements_yml_matches_galaxy_yml_and_the_uses():
    wanted = {
        c["name"]: c["version"]
        for c in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]
    }
    assert wanted == GALAXY["dependencies"]
    text = "\n".join(
        p.read_text()
        for p in [ROOT / "site.yml", *ROOT.glob("playbooks/*.yml"), *ROOT.glob("roles/**/*.yml")]
    )
    for name in wanted:
        assert f"{name}." in text, f"{name} is listed but not used"
