"""The table of preflight rules, in the order they run.

Each entry is one function ``check(facts, report)`` with the rule ids of
docs/preflight.md it enforces (an id belongs to exactly one function; the doc's table
gives each id's message) and a one-line description. ``tests/unit/test_preflight_rules.py``
checks the ids against the doc both ways.

The order matters twice: it is the order of the messages, and a rule reads what the
rules before it recorded in :class:`Facts` (``check_config_keys`` the canonical keys,
``check_ipv4_subnets`` the IPv4 plan, ``check_backend_type`` the backend, ...).

``config_only`` marks the rules that read nothing but ``flannel_network_config``: the
etcd role runs just those (``config_problems``) before it stores the config in etcd.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from . import backend_rules as backend
from . import config_rules as config
from . import inventory_rules as inventory
from . import release_rules as release
from .inventory import Facts
from .model import CONFIG_VAR, Report


@dataclass(frozen=True)
class Rule:
    ids: tuple[str, ...]
    check: Callable[[Facts, Report], None]
    summary: str
    config_only: bool = False


def _ids(spec: str) -> tuple[str, ...]:
    """``"N1-N3 N7"`` -> ``("N1", "N2", "N3", "N7")`` (an id is a letter and a number)."""
    out: list[str] = []
    for part in spec.split():
        first, _, last = part.partition("-")
        low = int(first[1:])
        high = int(last[1:]) if last else low
        out.extend(f"{first[0]}{n}" for n in range(low, high + 1))
    return tuple(out)


def _rule(ids: str, check: Callable[[Facts, Report], None], config_only: bool = False) -> Rule:
    """A table row; the summary is the first line of the function's docstring."""
    summary = (check.__doc__ or "").strip().splitlines()[0]
    return Rule(_ids(ids), check, summary, config_only)


RULES: tuple[Rule, ...] = (
    _rule("X2", inventory.check_templating),
    _rule("X1", inventory.check_cluster_vars),
    _rule("H1", inventory.check_underlay_prefix),
    _rule("M1", inventory.check_underlay_mtu),
    _rule("I1-I4", inventory.check_groups),
    _rule("K1-K4", config.check_config_keys, config_only=True),
    _rule("K5", config.check_enable_ipv4, config_only=True),
    _rule("N1-N5 N7-N13", config.check_ipv4_subnets, config_only=True),
    _rule("V1", config.check_ipv6_subnets, config_only=True),
    _rule("V3", config.check_ipv6_keys_ignored, config_only=True),
    _rule("B1-B8", backend.check_backend_type, config_only=True),
    _rule("B9-B10", backend.check_backend_keys, config_only=True),
    _rule("B11-B20", backend.check_backend_values, config_only=True),
    _rule("M2-M4", backend.check_overlay_mtu, config_only=True),
    _rule("P1-P2", inventory.check_etcd_prefix),
    _rule("N6", config.check_special_ranges, config_only=True),
    _rule("O1", inventory.check_host_addresses),
    _rule("O2-O6", inventory.check_reserved_ranges),
    _rule("V4", inventory.check_ipv6_overlaps),
    _rule("O7", config.check_docker_ranges, config_only=True),
    _rule("H2-H3", inventory.check_host_gw),
    _rule("H4", inventory.check_udp_arch),
    _rule("D1-D2", inventory.check_docker_engines),
    _rule("T1-T5", inventory.check_tls_files),
    _rule("R1", release.check_release_versions),
    _rule("R2", release.check_release_files),
    _rule("N14", inventory.check_subnets_fit),
    _rule("V2", inventory.check_ipv6_subnets_fit),
)

# Rule id -> its row.
BY_ID: dict[str, Rule] = {rule_id: rule for rule in RULES for rule_id in rule.ids}


def run(facts: Facts, rules: Iterable[Rule] = RULES) -> Report:
    """Every rule on ``facts``, in table order."""
    report = Report()
    for rule in rules:
        rule.check(facts, report)
    return report


def config_problems(config: Any) -> list[str]:
    """The errors of the rules on ``flannel_network_config`` alone (``config_only``).

    No underlay MTU is known here, so the MTU rules M2-M4 have nothing to check.
    """
    facts = Facts(values={CONFIG_VAR: config})  # as given: None is not the default here
    return run(facts, (rule for rule in RULES if rule.config_only)).errors
