"""Unit tests of module_utils/flannel_preflight/variables.py: the role variables the
hosts have, checked against the roles' real argument specs before any host is touched."""

import yaml

from tests.unit.loader import ROOT
from tests.unit.preflight_helpers import fp, pf, run

GROUPS = {"etcd": ["e1", "e2"], "nodes": ["n1", "n2", "e1"]}


def spec(role, entry="main", groups=("nodes",)):
    doc = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    options = doc["argument_specs"][entry]["options"]
    return {"name": role, "groups": list(groups), "options": options}


SPECS = [
    spec("flannel_common", groups=("etcd", "nodes")),
    spec("etcd", groups=("etcd",)),
    spec("docker"),
    spec("flannel_verify", "start"),
]


def hostvars(**per_host):
    hosts = {h: {} for g in GROUPS.values() for h in g}
    for host, values in per_host.items():
        hosts[host].update(values)
    return hosts


def test_defaults_and_good_values_pass():
    values = hostvars(
        n1={"docker_restart_batch": 2, "flannel_verify": "yes", "docker_ip_masq": False},
        e1={"etcd_log_level": "warn", "docker_install_method": "repo"},
    )
    assert fp.flannel_variable_problems(values, GROUPS, SPECS) == []


def test_each_wrong_value_names_role_key_reason_and_hosts_once():
    values = hostvars(
        n1={"docker_restart_batch": "two"},
        n2={"docker_restart_batch": "two"},
        e1={"etcd_log_level": "loud", "flannel_healthz_port": "http"},
        e2={"etcd_log_level": "loud"},
    )
    problems = fp.flannel_variable_problems(values, GROUPS, SPECS)
    assert len(problems) == 3, problems
    docker, etcd, common = problems  # sorted by role, then message
    assert docker.startswith("role docker: argument 'docker_restart_batch' is of type str")
    assert docker.endswith("(on n1, n2); see roles/docker/meta/argument_specs.yml")
    assert etcd.startswith("role etcd: value of etcd_log_level must be one of: debug, info")
    assert "got: loud (on e1, e2)" in etcd
    # e1 is in both groups of flannel_common: named once
    assert common.startswith("role flannel_common: argument 'flannel_healthz_port'")
    assert "(on e1);" in common


def test_a_role_only_checks_the_hosts_of_its_groups():
    # n1 is no etcd member: its etcd_log_level is never read by the etcd role
    values = hostvars(n1={"etcd_log_level": "loud"})
    assert fp.flannel_variable_problems(values, GROUPS, SPECS) == []


def test_variables_the_preflight_rules_read_are_left_to_them():
    # flannel_network_config has rules and messages of its own (and type dict in the spec)
    values = hostvars(n1={"flannel_network_config": ["not", "a", "dict"]})
    assert fp.flannel_variable_problems(values, GROUPS, SPECS) == []


def test_a_value_that_fails_to_template_is_left_to_the_role():
    class Lazy(dict):
        def __getitem__(self, key):
            if key == "docker_restart_batch":
                raise RuntimeError("'ansible_facts' is undefined")
            return dict.__getitem__(self, key)

    values = hostvars(n2={"docker_ip_masq": "maybe"})
    values["n1"] = Lazy(docker_restart_batch="{{ ansible_facts.x }}")
    problems = fp.flannel_variable_problems(values, GROUPS, SPECS)
    assert len(problems) == 1, problems
    assert problems[0].startswith("role docker: argument 'docker_ip_masq' is of type str")


def test_the_preflight_reports_them_first():
    result = run(variable_errors=["role docker: wrong"])
    assert result["errors"] == ["role docker: wrong"]
    assert pf.variables.variable_problems is fp.flannel_variable_problems
