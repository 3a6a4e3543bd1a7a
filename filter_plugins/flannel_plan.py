"""The Ansible filters of the flannel network plan and the controller-side preflight.

The logic lives in module_utils/flannel_preflight/ (see its __init__ for the modules and
for how this file imports them); these are only the entry points.

``hostvars | flannel_inventory_view(groups)``
    The only function that touches Ansible objects: picks the variables the rules
    need out of ``hostvars`` for the hosts of the ``etcd`` and ``nodes`` groups and
    returns plain dicts.
``view | flannel_preflight(config=..., ...)``
    ``{"errors": [...], "warnings": [...], "plan": {...}}``.
``view | flannel_plan(...)``
    Only the ``plan`` part of the above.
``result | flannel_plan_report``
    The plan, errors and warnings as lines of text for a person to read.
``underlay_mtu | flannel_mtu_by_backend``
    The overlay MTU each backend leaves on an underlay of that MTU.
``hostvars | flannel_variable_problems(groups, specs)``
    The role variables the hosts have from the inventory or the command line, checked
    against the roles' argument specs; one line per problem.
``hostvars | flannel_member_addresses(members)``
    Each etcd member's address by the one rule the roles and the preflight share
    (etcd_address, else ansible_host, else its name).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

# The shared code, from the collection or else from the repository; the reasons are in
# module_utils/flannel_preflight/__init__.py.
try:
    from ..module_utils import flannel_preflight as preflight
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
    import flannel_preflight as preflight


def flannel_preflight(
    inventory: Mapping[str, Any] | None = None,
    config: Any = None,
    etcd_prefix: Any = preflight.model.DEFAULT_ETCD_PREFIX,
    reserved_cidrs: Any = None,
    lab_cidr: Any = None,
    underlay_prefix: Any = preflight.model.DEFAULT_UNDERLAY_PREFIX,
    underlay_mtu: Any = preflight.model.DEFAULT_UNDERLAY_MTU,
    arch: Any = preflight.model.DEFAULT_ARCH,
    tls_files: Mapping[str, Any] | None = None,
    search_dirs: Sequence[str] = (),
    variable_errors: Sequence[str] = (),
) -> dict[str, Any]:
    """Check the inventory and the flannel network plan; nothing is contacted.

    ``inventory`` is ``{"etcd": group, "nodes": group}`` where a group is a list of host
    names, a mapping of name to address, or (from ``flannel_inventory_view``) a mapping of
    name to that host's variables. The keyword arguments are the controller-side values of
    the variables (with their defaults); a host's own value, where it has one, wins.
    ``config`` None means the default network config. ``variable_errors`` (from
    ``flannel_variable_problems``) come first among the errors.

    Returns ``{"errors": [...], "warnings": [...], "plan": {...}}``.
    """
    controller = {
        "flannel_network_config": config,
        "flannel_etcd_prefix": etcd_prefix,
        "flannel_reserved_cidrs": reserved_cidrs,
        "flannel_underlay_prefix": underlay_prefix,
        "flannel_underlay_mtu": underlay_mtu,
        "lab_cidr": lab_cidr,
    }
    facts = preflight.inventory.build_facts(inventory, controller, arch, tls_files, search_dirs)
    found = preflight.rules.run(facts)
    plan = preflight.plan.assemble(facts)
    errors = [*variable_errors, *found.errors]
    return {"errors": errors, "warnings": found.warnings, "plan": plan}


def flannel_plan(inventory: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Only the plan of :func:`flannel_preflight` (same arguments)."""
    return flannel_preflight(inventory, **kwargs)["plan"]


flannel_inventory_view = preflight.inventory.inventory_view
flannel_plan_report = preflight.report.plan_report
flannel_mtu_by_backend = preflight.plan.mtu_by_backend
flannel_variable_problems = preflight.variables.variable_problems


class FilterModule:
    """Ansible filters for the flannel plan and preflight."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "flannel_inventory_view": flannel_inventory_view,
            "flannel_preflight": flannel_preflight,
            "flannel_plan": flannel_plan,
            "flannel_plan_report": flannel_plan_report,
            "flannel_mtu_by_backend": flannel_mtu_by_backend,
            "flannel_member_addresses": preflight.inventory.member_addresses,
            "flannel_variable_problems": flannel_variable_problems,
        }
