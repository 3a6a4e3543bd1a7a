"""The role variables an operator set, checked against the roles' argument specs on the
controller, before any host is touched.

Each role validates its own variables when it starts (``meta/argument_specs.yml``), but
site.yml starts the docker role after etcd and flannel have changed the hosts, and the
verify plays enter flannel_verify through ``tasks_from``, which Ansible never validates.
The preflight therefore checks, for every host of a role's group, the variables of that
role's spec that the host has from the inventory or the command line (role defaults are
the spec's own and are not read). A value that cannot be templated on the controller yet
(one that names a fact, say) is left to the role's own check.

``pick`` is the only function that touches Ansible objects; ``problems`` works on plain
data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .inventory import VIEW_VARS, materialize

# What only describes an option, or would fill in an unset one: not checked here.
_NOT_CHECKED = ("default", "required", "description", "version_added")


def _checkable(options: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for name, option in (options or {}).items():
        option = {k: v for k, v in dict(option or {}).items() if k not in _NOT_CHECKED}
        if "options" in option:
            option["options"] = _checkable(option["options"])
        out[str(name)] = option
    return out


def pick(
    hostvars: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    specs: Sequence[Mapping[str, Any]],
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{spec name: {host: {variable: value}}}``: for each spec (``name``, ``groups``,
    ``options``), the values the hosts of its groups have for its options. Variables that
    fail to template are left out, and so are those the preflight's own rules read
    (``inventory.VIEW_VARS``: they have rules and messages of their own)."""
    picked: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in specs:
        names = [n for n in (spec.get("options") or {}) if n not in VIEW_VARS]
        per_host = picked.setdefault(str(spec["name"]), {})
        hosts = {h for group in spec["groups"] for h in groups.get(str(group)) or []}
        for host in sorted(hosts - per_host.keys()):
            found: dict[str, Any] = {}
            hv = hostvars[host]
            for var in names:
                try:
                    if var in hv:
                        found[var] = materialize(hv[var])
                except Exception:  # noqa: BLE001, S112 - undecidable here: the role checks it
                    continue
            per_host[host] = found
    return picked


def problems(
    picked: Mapping[str, Mapping[str, Mapping[str, Any]]],
    specs: Sequence[Mapping[str, Any]],
) -> list[str]:
    """One line per wrong variable and reason, naming the role and the hosts."""
    hosts_of: dict[tuple[str, str], set[str]] = {}
    for spec in specs:
        name = str(spec["name"])
        validator = ArgumentSpecValidator(_checkable(spec.get("options") or {}))
        for host, values in (picked.get(name) or {}).items():
            if not values:
                continue
            result = validator.validate(dict(values), validate_role_argument_spec=True)
            for message in result.error_messages:
                hosts_of.setdefault((name, str(message)), set()).add(host)
    return [
        f"role {name}: {message} (on {', '.join(sorted(hosts))});"
        f" see roles/{name}/meta/argument_specs.yml"
        for (name, message), hosts in sorted(hosts_of.items())
    ]


def variable_problems(
    hostvars: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    specs: Sequence[Mapping[str, Any]],
) -> list[str]:
    """``problems(pick(...))``: the filter ``flannel_variable_problems``."""
    return problems(pick(hostvars, groups, specs), specs)
