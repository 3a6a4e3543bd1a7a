"""The role variables an operator set, checked against the roles' argument specs on the
controller, before any host is touched.

Each role validates its own variables when it starts (``meta/argument_specs.yml``), but
site.yml starts the docker role after etcd and flannel have changed the hosts, and the
verify plays enter flannel_verify through ``tasks_from``, which Ansible never validates.
The preflight therefore checks, for every host of a role's group, the variables of that
role's spec that the host has from the inventory or the command line (role defaults are
the spec's own and are not read). A value that cannot be templated on the controller yet
(one that names a fact, say) is left to the role's own check.

Reading a host's variables is ``inventory.pick_vars``, as for the rest of the preflight.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from .inventory import VIEW_VARS, pick_vars

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


def variable_problems(
    hostvars: Mapping[str, Any],
    groups: Mapping[str, Sequence[str]],
    specs: Sequence[Mapping[str, Any]],
) -> list[str]:
    """The filter ``flannel_variable_problems``: for each spec (``name``, ``groups``,
    ``options``), validate the values the hosts of its groups have for its options; one
    line per wrong variable and reason, naming the role and the hosts. The variables the
    preflight's own rules read (``inventory.VIEW_VARS``) are left to those rules, which
    have messages of their own."""
    hosts_of: dict[tuple[str, str], set[str]] = {}
    for spec in specs:
        name = str(spec["name"])
        options = spec.get("options") or {}
        names = [n for n in options if n not in VIEW_VARS]
        validator = ArgumentSpecValidator(_checkable(options))
        for host in {h for group in spec["groups"] for h in groups.get(str(group)) or []}:
            # a value that fails to template is undecidable here: the role checks it
            values, _ = pick_vars(hostvars[host], names)
            if not values:
                continue
            result = validator.validate(values, validate_role_argument_spec=True)
            for message in result.error_messages:
                hosts_of.setdefault((name, str(message)), set()).add(host)
    return [
        f"role {name}: {message} (on {', '.join(sorted(hosts))});"
        f" see roles/{name}/meta/argument_specs.yml"
        for (name, message), hosts in sorted(hosts_of.items())
    ]
