"""Unit tests of the rules table (module_utils/flannel_preflight/rules.py): against
docs/preflight.md, its order, and the rules the etcd role runs."""

import re

from tests.unit.loader import ROOT
from tests.unit.preflight_helpers import net, pf, run

# --- the rules table against docs/preflight.md ----------------------------------------------

DOC = (ROOT / "docs/preflight.md").read_text()
# A rule's row in the doc's tables: | K1 | E | ... |
DOC_IDS = re.findall(r"(?m)^\| ([A-Z][0-9]+) \| [EW] \|", DOC)
RULES = pf.rules.RULES


def expand(spec):
    """'K1–K3, N6' (as the doc writes ranges) -> {'K1', 'K2', 'K3', 'N6'}."""
    out = set()
    for part in spec.replace("–", "-").split(","):
        first, _, last = part.strip().partition("-")
        low, high = int(first[1:]), int((last or first)[1:])
        out |= {f"{first[0]}{n}" for n in range(low, high + 1)}
    return out


def test_doc_lists_each_rule_id_once():
    assert DOC_IDS and len(DOC_IDS) == len(set(DOC_IDS))


def test_every_rule_id_of_the_table_is_documented():
    assert sorted(set(pf.rules.BY_ID) - set(DOC_IDS)) == []


def test_the_doc_lists_no_rule_the_table_lacks():
    assert sorted(set(DOC_IDS) - set(pf.rules.BY_ID)) == []


def test_each_rule_id_belongs_to_one_function():
    ids = [rule_id for rule in RULES for rule_id in rule.ids]
    assert len(ids) == len(set(ids))
    checks = [rule.check for rule in RULES]
    assert len(checks) == len(set(checks))


def test_each_rule_has_a_one_line_description():
    for rule in RULES:
        assert rule.summary and rule.summary == rule.check.__doc__.strip().splitlines()[0]
        assert rule.summary.endswith("."), rule.check.__name__


def test_rule_ids_expand_ranges():
    assert pf.rules.BY_ID["N10"].check is pf.config_rules.check_ipv4_subnets
    assert "N6" not in pf.rules.BY_ID["N10"].ids
    assert pf.rules.BY_ID["B20"].ids[-1] == "B20"


def test_doc_names_the_rules_the_etcd_role_runs():
    line = re.search(r"rules of the table that read only `flannel_network_config` \(([^;]+);", DOC)
    assert line, "docs/preflight.md no longer says which rules the etcd role runs"
    config_only = {rule_id for rule in RULES if rule.config_only for rule_id in rule.ids}
    assert expand(line.group(1).replace("\n", " ")) | {"M2", "M3", "M4"} == config_only


def test_the_rules_run_in_table_order():
    # Messages come out in the order of the table, one rule after the other.
    config = net(Network="10.244.1.0/16", Backend={"Type": "vxlam"})
    result = run(config, etcd={}, underlay_mtu=10)
    assert [e.split(":", 1)[0] for e in result["errors"]] == [
        "flannel_underlay_mtu",
        "groups.etcd",
        "flannel_network_config.Network",
        "flannel_network_config.Backend.Type",
    ]


# --- the same rules for the etcd role ----------------------------------------------------------


def test_config_problems_are_the_preflights_errors_on_the_config():
    config = net(SubnetLen=31, Backend={"Type": "vxlan", "VNI": -1})
    problems = pf.rules.config_problems(config)
    assert problems == [
        "flannel_network_config.SubnetLen: 31 is outside what flannel accepts "
        "(must be <= 30 and >= Network prefix + 2 = 18)",
        "flannel_network_config.Backend.VNI: -1 is out of range (must be 0..16777215, 24 bits; "
        "flannel's default is 1)",
    ]
    assert set(problems) <= set(run(config)["errors"])


def test_config_problems_leave_out_the_inventory_and_the_mtu():
    # No hosts, no underlay MTU: only the config is judged; warnings are not problems.
    assert pf.rules.config_problems(net(Network="172.17.0.0/16")) == []
    assert pf.rules.config_problems(net(Backend={"Type": "vxlan", "MTU": 100})) == []
    assert pf.rules.config_problems(None) == [
        "flannel_network_config: must be a mapping of flannel's JSON keys (Network, SubnetLen, "
        "Backend, ...), got null"
    ]
