"""The model of the inventory: which variables the rules read, how they are picked out
of Ansible's ``hostvars``, and :class:`Facts`, everything the rules look at.

``inventory_view`` is the only function that touches Ansible objects; everything after
it works on plain dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import ip_network
from typing import Any

from jinja2 import Undefined

from .model import (
    CONFIG_VAR,
    DEFAULT_ARCH,
    MAX_MTU,
    MIN_MTU_V4,
    IPNetwork,
    int_between,
)

# Variables that describe the one cluster: every node must see the same value.
CLUSTER_VARS = (
    CONFIG_VAR,
    "flannel_etcd_prefix",
    "flannel_reserved_cidrs",
    "flannel_underlay_prefix",
    "flannel_underlay_mtu",
    "lab_cidr",
)
# User-supplied TLS files on the controller, as pairs that only make sense together.
TLS_FILE_VARS = (
    "etcd_tls_ca_cert_src",
    "etcd_tls_ca_key_src",
    "flannel_etcd_cafile_src",
    "flannel_etcd_certfile_src",
    "flannel_etcd_keyfile_src",
)
TLS_PAIRS = (
    ("etcd_tls_ca_cert_src", "etcd_tls_ca_key_src"),
    ("flannel_etcd_certfile_src", "flannel_etcd_keyfile_src"),
)
VIEW_VARS = ("ansible_host", "etcd_address", "flannel_arch", *CLUSTER_VARS, *TLS_FILE_VARS)
# The docker role's engine settings, read by the engine rule; unlike VIEW_VARS they are
# also checked against the role's argument spec (variables.py), which has their types.
ENGINE_VARS = ("docker_firewall_backend", "docker_install_method", "docker_version")
# What the install methods take (release_rules.py), checked the same way.
RELEASE_VARS = (
    "flannel_version", "etcd_version", "flannel_binary_src", "etcd_archive_src",
)  # fmt: skip
HOST_GROUPS = ("etcd", "nodes")
ERROR_KEY = "__errors__"

Hosts = dict[str, dict[str, Any]]


@dataclass
class Facts:
    """Everything the rules look at, parsed from the preflight filter's arguments.

    The first block is the input; the second is worked out by the rules on
    ``flannel_network_config`` (in the order of ``rules.RULES``) and read by the rules
    after them and by the plan.
    """

    values: dict[str, Any]  # each of CLUSTER_VARS, as the hosts in nodes see it
    etcd: Hosts = field(default_factory=dict)
    nodes: Hosts = field(default_factory=dict)
    # A cluster var the nodes disagree on -> the hosts seeing each of its values.
    differing: dict[str, list[list[str]]] = field(default_factory=dict)
    # (var, reason) -> the hosts on which that variable failed to template.
    unresolved: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    underlay_prefix: int | None = None  # None unless an integer in 0..32
    underlay_mtu: int | None = None  # None unless an integer in MIN_MTU_V4..MAX_MTU
    arch: Any = DEFAULT_ARCH
    tls_defaults: Mapping[str, Any] = field(default_factory=dict)
    search_dirs: Sequence[str] = ()

    config: dict[str, Any] | None = None  # the known top-level keys, canonically spelled
    invalid: set[str] = field(default_factory=set)  # keys whose value has the wrong type
    v4: dict[str, Any] | None = None  # the IPv4 subnet plan; None if Network is unusable
    v6: dict[str, Any] | None = None  # the IPv6 one, with EnableIPv6 only
    backend: str | None = None  # the backend type; None if it is unusable
    backend_raw: Mapping[Any, Any] | None = None  # the Backend whose keys are to check
    backend_cfg: dict[str, Any] = field(default_factory=dict)  # its known keys

    @property
    def all_hosts(self) -> Hosts:
        return {**self.etcd, **self.nodes}

    @property
    def ipv6(self) -> bool:
        return self.config is not None and self.config.get("EnableIPv6") is True

    @property
    def network(self) -> IPNetwork | None:
        return ip_network(self.v4["network"]) if self.v4 else None


def normalize_hosts(group: Any) -> Hosts:
    """A group as {host: {var: value}} from a list of names, {name: address} or a view."""
    if group is None:
        return {}
    if isinstance(group, Mapping):
        out: Hosts = {}
        for name, data in group.items():
            if isinstance(data, Mapping):
                out[str(name)] = dict(data)
            elif data is None or data == "":
                out[str(name)] = {}
            else:
                out[str(name)] = {"ansible_host": data}
        return out
    if isinstance(group, str | bytes):
        return {str(group): {}}
    return {str(name): {} for name in group}


def host_address(name: str, hostvars: Mapping[str, Any]) -> str:
    """``ansible_host | default(name)``."""
    value = hostvars.get("ansible_host")
    return str(value) if value not in (None, "") else name


def member_address(name: str, hostvars: Mapping[str, Any]) -> str:
    """The address an etcd member is reached on: its etcd_address, else ansible_host, else
    its name. The one rule: the etcd role's URLs and the flannel role's default endpoints
    use it through the ``flannel_member_addresses`` filter."""
    value = hostvars.get("etcd_address")
    return str(value) if value not in (None, "") else host_address(name, hostvars)


def member_addresses(hostvars: Mapping[str, Any], members: Iterable[str]) -> dict[str, str]:
    """{member: address} for ``members``, in their order (``hostvars`` is Ansible's)."""
    return {str(name): member_address(str(name), hostvars[name]) for name in members}


def cluster_value(var: str, default: Any, nodes: Hosts) -> tuple[Any, list[list[str]]]:
    """The value the first node sees for a cluster-wide variable, and the hosts seeing
    each distinct value (one entry when they all agree)."""
    if not nodes:
        return default, []
    seen: list[tuple[Any, list[str]]] = []
    for name, hostvars in nodes.items():
        value = hostvars.get(var, default)
        for known, names in seen:
            if known == value:
                names.append(name)
                break
        else:
            seen.append((value, [name]))
    return seen[0][0], [names for _, names in seen]


def build_facts(
    inventory: Mapping[str, Any] | None,
    controller: Mapping[str, Any],
    arch: Any = DEFAULT_ARCH,
    tls_files: Mapping[str, Any] | None = None,
    search_dirs: Sequence[str] = (),
) -> Facts:
    """:class:`Facts` from the arguments of the ``flannel_preflight`` filter.

    ``controller`` holds the controller-side value of each of CLUSTER_VARS (a host's own
    value wins); None for the reserved CIDRs means none. The network config has no default
    here: it is the shared setting of roles/flannel_common, which the caller passes.
    """
    inventory = inventory or {}
    etcd = normalize_hosts(inventory.get("etcd"))
    nodes = normalize_hosts(inventory.get("nodes"))
    unresolved: dict[tuple[str, str], set[str]] = {}
    for name, hostvars in {**etcd, **nodes}.items():
        for var, message in (hostvars.get(ERROR_KEY) or {}).items():
            unresolved.setdefault((var, message), set()).add(name)

    defaults = dict(controller)
    if defaults["flannel_reserved_cidrs"] is None:
        defaults["flannel_reserved_cidrs"] = []
    values: dict[str, Any] = {}
    differing: dict[str, list[list[str]]] = {}
    for var in CLUSTER_VARS:
        values[var], sides = cluster_value(var, defaults[var], nodes)
        if len(sides) > 1:
            differing[var] = sides
    return Facts(
        etcd=etcd,
        nodes=nodes,
        values=values,
        differing=differing,
        unresolved=unresolved,
        underlay_prefix=int_between(values["flannel_underlay_prefix"], 0, 32),
        underlay_mtu=int_between(values["flannel_underlay_mtu"], MIN_MTU_V4, MAX_MTU),
        arch=arch,
        tls_defaults=tls_files or {},
        search_dirs=search_dirs,
    )


class Unresolved(Exception):
    """A host variable (or a part of it) that does not template to a value."""


def materialize(value: Any) -> Any:
    """``value`` as plain Python data, templated all the way down.

    Ansible hands out host variables lazily: an undefined part only shows up as an
    Undefined object once it is reached. Raises :class:`Unresolved` for the first one.
    """
    if isinstance(value, Undefined):
        message = getattr(value, "_undefined_message", None)
        raise Unresolved(str(message) if message else "is undefined")
    if isinstance(value, Mapping):
        return {str(key): materialize(item) for key, item in value.items()}
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, Sequence):
        return [materialize(item) for item in value]
    return value


def pick_vars(
    host: Mapping[str, Any], names: Iterable[str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The variables of ``names`` that one host's ``hostvars`` entry has, templated all
    the way down, and the first line of the error of each that failed to template."""
    picked: dict[str, Any] = {}
    failed: dict[str, str] = {}
    for var in names:
        try:
            if var in host:
                picked[var] = materialize(host[var])
        except Exception as exc:  # any templating failure, for the caller to judge
            text = str(exc).strip()
            failed[var] = text.splitlines()[0] if text else type(exc).__name__
    return picked, failed


def inventory_view(
    hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The variables the rules need, for each host of the etcd and nodes groups.

    Reading a host's variables templates them; a variable that fails to template is
    recorded under ``__errors__`` for the preflight to report.
    """
    view: dict[str, dict[str, dict[str, Any]]] = {}
    for group in HOST_GROUPS:
        view[group] = {}
        for name in groups.get(group) or []:
            picked, failed = pick_vars(hostvars[name], (*VIEW_VARS, *ENGINE_VARS, *RELEASE_VARS))
            if failed:
                picked[ERROR_KEY] = failed
            view[group][name] = picked
    return view
