"""The flannel network plan and the controller-side preflight rules, in one place.

Everything here is a pure function of its arguments (the only outside look is whether
the user-supplied TLS files exist on the controller). ``playbooks/preflight.yml`` and
``playbooks/plan.yml`` call these as Ansible filters; ``docs/preflight.md`` lists every
rule with its message. The rules follow flannel v0.28.9 (pkg/subnet/config.go and
pkg/backend/*): what flanneld would reject, or worse silently accept and then hang or
misroute, is an error here; what works but is probably not meant is a warning.

Filters:

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
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jinja2 import Undefined

FLANNEL_VERSION = "v0.28.9"
CONFIG_VAR = "flannel_network_config"

DEFAULT_NETWORK_CONFIG: dict[str, Any] = {
    "Network": "10.244.0.0/16",
    "SubnetLen": 24,
    "Backend": {"Type": "vxlan"},
}
DEFAULT_ETCD_PREFIX = "/coreos.com/network"
DEFAULT_UNDERLAY_PREFIX = 24
DEFAULT_UNDERLAY_MTU = 1500
DEFAULT_ARCH = "amd64"

# RFC 791: every IPv4 link must carry a 68-byte datagram; RFC 8200: IPv6 needs 1280.
MIN_MTU_V4 = 68
MIN_MTU_V6 = 1280
MAX_MTU = 65535
MAX_VNI = 2**24 - 1

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Top-level keys of flannel's subnet.Config, with the JSON type Go decodes each into.
# ("BackendType" is tagged json:"-": flannel never reads it, so it is unknown here.)
TOP_LEVEL_KEYS: dict[str, type] = {
    "Network": str,
    "SubnetLen": int,
    "SubnetMin": str,
    "SubnetMax": str,
    "EnableIPv4": bool,
    "EnableIPv6": bool,
    "EnableNFTables": bool,
    "IPv6Network": str,
    "IPv6SubnetLen": int,
    "IPv6SubnetMin": str,
    "IPv6SubnetMax": str,
    "Backend": dict,
}

# Backend keys each backend type reads (the anonymous config structs in pkg/backend/*).
BACKEND_KEYS: dict[str, dict[str, type]] = {
    "vxlan": {
        "Type": str,
        "VNI": int,
        "Port": int,
        "MTU": int,
        "GBP": bool,
        "Learning": bool,
        "DirectRouting": bool,
    },
    "udp": {"Type": str, "Port": int},
    "host-gw": {"Type": str},
    "ipip": {"Type": str, "DirectRouting": bool},
    "wireguard": {
        "Type": str,
        "ListenPort": int,
        "ListenPortV6": int,
        "MTU": int,
        "PSK": str,
        "PersistentKeepaliveInterval": int,
        "Mode": str,
    },
    "ipsec": {"Type": str, "UDPEncap": bool, "ESPProposal": str, "PSK": str},
    "alloc": {"Type": str},
    "extension": {
        "Type": str,
        "PreStartupCommand": str,
        "PostStartupCommand": str,
        "SubnetAddCommand": str,
        "SubnetRemoveCommand": str,
    },
    "tencent-vpc": {"Type": str, "AccessKeyID": str, "AccessKeySecret": str},
}
# Backends older flannel releases had and v0.28.9 no longer builds in.
REMOVED_BACKENDS = ("ali-vpc", "aws-vpc", "gce")
# Values never echoed back in a message.
SECRET_KEYS = frozenset({"PSK", "AccessKeySecret"})

# Bytes each backend's encapsulation takes from the underlay MTU (flannel source:
# vxlan encapOverhead, udp encapOverhead, ipip "MTU - 20", wireguard overhead,
# ipsec ipsecOverhead; +8 more for ipsec with UDPEncap). host-gw only routes.
MTU_OVERHEAD: dict[str, int] = {
    "vxlan": 50,
    "udp": 28,
    "host-gw": 0,
    "ipip": 20,
    "wireguard": 80,
    "ipsec": 77,
}
IPSEC_UDP_ENCAP_OVERHEAD = 8
# Backends whose Backend.MTU key replaces the underlay MTU as the base.
BACKENDS_WITH_MTU_KEY = ("vxlan", "wireguard")
WIREGUARD_MODES = ("separate", "auto", "ipv4", "ipv6")
IPSEC_MIN_PSK_LEN = 96

DOCKER_DEFAULT_BRIDGE = ipaddress.ip_network("172.17.0.0/16")
DOCKER_DEFAULT_POOLS = tuple(ipaddress.ip_network(f"172.{n}.0.0/16") for n in range(17, 32)) + (
    ipaddress.ip_network("192.168.0.0/16"),
)
SPECIAL_RANGES_V4: tuple[tuple[ipaddress.IPv4Network, str], ...] = (
    (ipaddress.IPv4Network("0.0.0.0/8"), "'this network'"),
    (ipaddress.IPv4Network("127.0.0.0/8"), "loopback"),
    (ipaddress.IPv4Network("169.254.0.0/16"), "link-local"),
    (ipaddress.IPv4Network("224.0.0.0/4"), "multicast"),
    (ipaddress.IPv4Network("240.0.0.0/4"), "reserved/broadcast"),
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
VIEW_VARS = ("ansible_host", "flannel_arch", *CLUSTER_VARS, *TLS_FILE_VARS)
HOST_GROUPS = ("etcd", "nodes")
ERROR_KEY = "__errors__"

KIND_NAMES: dict[type, str] = {
    bool: "true or false",
    int: "an integer",
    str: "a string",
    dict: "a mapping",
}


@dataclass(frozen=True)
class Family:
    """The keys and limits of one address family in flannel's config."""

    version: int
    net_key: str
    len_key: str
    min_key: str
    max_key: str
    max_subnet_len: int
    longest_prefix: int
    default_subnet_len: int
    example: str


V4 = Family(4, "Network", "SubnetLen", "SubnetMin", "SubnetMax", 30, 28, 24, "10.244.0.0/16")
V6 = Family(
    6,
    "IPv6Network",
    "IPv6SubnetLen",
    "IPv6SubnetMin",
    "IPv6SubnetMax",
    126,
    124,
    64,
    "fd00:10:244::/56",
)


class Report:
    """Collects errors and warnings, each once, in the order found."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)


# --- small helpers ------------------------------------------------------------------


def is_kind(value: Any, kind: type) -> bool:
    """Whether ``value`` decodes into the Go type flannel declares (bool is not an int)."""
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is dict:
        return isinstance(value, Mapping)
    return isinstance(value, kind)


def show(value: Any) -> str:
    """A value as it appears in a message: strings quoted, the rest as JSON-ish text."""
    if isinstance(value, str):
        return repr(str(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number with a fraction"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def suggest(word: str, candidates: Iterable[str]) -> str | None:
    """The closest of ``candidates`` to ``word``, compared case-insensitively."""
    by_lower = {c.lower(): c for c in candidates}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def as_int(value: Any) -> int | None:
    """An integer from an int or a string of digits (``-e key=value`` gives strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_network(value: Any, version: int, example: str) -> tuple[IPNetwork | None, str]:
    """A CIDR as flannel's Go side reads it, or None and the reason it is not one.

    Go's net.ParseCIDR masks host bits away silently; we refuse them instead, since
    ``10.244.1.0/16`` most likely means something other than ``10.244.0.0/16``.
    """
    family = f"IPv{version}"
    if not isinstance(value, str):
        return None, f"must be {family} CIDR text such as {example}, got {type_name(value)}"
    text = value.strip()
    if "/" not in text:
        return None, f"{show(value)} has no prefix length; write a CIDR such as {example}"
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None, f"{show(value)} is not an {family} CIDR (such as {example})"
    if net.version != version:
        return None, f"{show(value)} is an IPv{net.version} CIDR, not {family}"
    if ipaddress.ip_address(text.split("/", 1)[0]) != net.network_address:
        return None, (
            f"{show(value)} has host bits set; flannel would silently use {net}, so write that"
        )
    return net, ""


def parse_address(value: Any) -> IPAddress | None:
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def describe_hosts(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


# --- the flannel config -----------------------------------------------------------


def canonical_keys(
    given: Mapping[Any, Any],
    known: Mapping[str, type],
    where: str,
    report: Report,
    foreign: Callable[[str], str] | None = None,
) -> tuple[dict[str, Any], set[str]]:
    """Map ``given`` onto the ``known`` key spelling the way Go's encoding/json does.

    Returns the canonical dict and the set of keys whose value has the wrong type (they
    are reported here and left out of the dict).
    """
    by_lower = {key.lower(): key for key in known}
    out: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    invalid: set[str] = set()
    for key, value in given.items():
        if not isinstance(key, str):
            report.error(f"{where}: key {show(key)} is not a string")
            continue
        canon = by_lower.get(key.lower())
        if canon is None:
            hint = suggest(key, known)
            if hint is not None:
                tail = f"did you mean {hint}?"
            else:
                tail = f"known keys: {', '.join(sorted(known))}"
                other = foreign(key) if foreign else ""
                tail = f"{other}; {tail}" if other else tail
            report.error(f"{where}.{key}: unknown key, flannel would ignore it silently ({tail})")
            continue
        if canon in spelled:
            report.error(
                f"{where}.{key}: given twice (also as {spelled[canon]}); flannel matches keys "
                "case-insensitively and would use only one of them"
            )
            continue
        spelled[canon] = key
        kind = known[canon]
        if not is_kind(value, kind):
            shown = type_name(value) if canon in SECRET_KEYS else show(value)
            if kind is dict:
                shown = type_name(value)
            report.error(f"{where}.{canon}: must be {KIND_NAMES[kind]}, got {shown}")
            invalid.add(canon)
            continue
        out[canon] = value
    return out, invalid


def default_subnet_len(prefix: int, family: Family = V4) -> int | None:
    """flannel's SubnetLen when none is given; None when the Network is too small."""
    if prefix > family.longest_prefix:
        return None
    if prefix <= family.default_subnet_len - 2:
        return family.default_subnet_len
    return prefix + 2


def check_family(
    cfg: Mapping[str, Any], invalid: set[str], family: Family, report: Report
) -> dict[str, Any] | None:
    """Network, SubnetLen, SubnetMin and SubnetMax of one family, as flannel checks them.

    Returns the family's plan, or None when the Network itself is unusable.
    """
    net_where = f"{CONFIG_VAR}.{family.net_key}"
    if family.net_key in invalid:
        return None
    raw = cfg.get(family.net_key)
    if raw is None:
        extra = " (EnableIPv6 is true)" if family.version == 6 else ""
        report.error(
            f"{net_where}: missing; flannel needs an IPv{family.version} CIDR "
            f"such as {family.example}{extra}"
        )
        return None
    net, reason = parse_network(raw, family.version, family.example)
    if net is None:
        report.error(f"{net_where}: {reason}")
        return None
    prefix = net.prefixlen
    bits = net.max_prefixlen

    len_where = f"{CONFIG_VAR}.{family.len_key}"
    plan: dict[str, Any] = {"network": str(net)}
    if family.len_key in invalid:
        return plan
    given_len = cfg.get(family.len_key)
    if given_len is None or given_len == 0:  # flannel treats 0 as "not given"
        subnet_len = default_subnet_len(prefix, family)
        if subnet_len is None:
            report.error(
                f"{net_where}: /{prefix} is too small; flannel needs a prefix of "
                f"/{family.longest_prefix} or shorter (at least four subnets)"
            )
            return plan
        plan["subnet_len_from"] = "default"
    else:
        subnet_len = given_len
        if subnet_len > family.max_subnet_len or subnet_len < prefix + 2:
            report.error(
                f"{len_where}: {subnet_len} is outside what flannel accepts (must be "
                f"<= {family.max_subnet_len} and >= {family.net_key} prefix + 2 = {prefix + 2})"
            )
            return plan
        plan["subnet_len_from"] = family.len_key
    plan["subnet_len"] = subnet_len

    size = 1 << (bits - subnet_len)
    first = int(net.network_address)
    address = type(net.network_address)  # IPv4Address or IPv6Address, from an int
    bounds: dict[str, int | None] = {
        family.min_key: first + size,  # flannel skips the first subnet
        family.max_key: int(net.broadcast_address) + 1 - size,
    }
    for key in (family.min_key, family.max_key):
        where = f"{CONFIG_VAR}.{key}"
        if key in invalid:
            bounds[key] = None
            continue
        raw_addr = cfg.get(key)
        if raw_addr is None:
            continue
        addr = parse_address(raw_addr)
        if addr is None or addr.version != family.version:
            report.error(
                f"{where}: {show(raw_addr)} is not an IPv{family.version} address (give the "
                f"first address of a subnet, without /len, e.g. "
                f"{address(first + size)})"
            )
            bounds[key] = None
            continue
        if family.version == 4 and int(addr) == 0:
            continue  # flannel reads 0.0.0.0 as "not given"
        if addr not in net:
            report.error(f"{where}: {addr} is outside {family.net_key} {net}")
            bounds[key] = None
            continue
        if (int(addr) - first) % size:
            start = address(int(addr) - (int(addr) - first) % size)
            report.error(
                f"{where}: {addr} is not on a /{subnet_len} boundary ({family.len_key}); "
                f"the subnet holding it starts at {start}"
            )
            bounds[key] = None
            continue
        if key == family.min_key and int(addr) == first:
            report.warn(
                f"{where}: {addr} is the first subnet of {family.net_key}, which flannel "
                "skips by default: the node leasing it gets an address that clashes with "
                "the network address"
            )
        bounds[key] = int(addr)
    low, high = bounds[family.min_key], bounds[family.max_key]
    if low is not None:
        plan["subnet_min"] = str(address(low))
    if high is not None:
        plan["subnet_max"] = str(address(high))
    if low is None or high is None:
        return plan
    if low > high:
        report.error(
            f"{CONFIG_VAR}.{family.min_key}: {plan['subnet_min']} is above {family.max_key} "
            f"{plan['subnet_max']}; flannel does not check this and every lease would fail "
            "with 'out of subnets'"
        )
        plan["subnets_available"] = 0
        return plan
    plan["subnets_available"] = (high - low) // size + 1
    return plan


def foreign_backend_key(backend: str) -> Callable[[str], str]:
    """A hint for a key that belongs to other backends than ``backend``."""

    def hint(key: str) -> str:
        owners = sorted(
            name
            for name, keys in BACKEND_KEYS.items()
            if name != backend and key.lower() in {k.lower() for k in keys}
        )
        if not owners:
            return ""
        named = " and ".join(owners)
        plural = "backends" if len(owners) > 1 else "backend"
        return f"{key} is read by the {named} {plural}, not by {backend}"

    return hint


def check_port(
    value: Any, key: str, where: str, default: int, report: Report, zero_is_default: bool = False
) -> None:
    """A UDP port flannel listens on or sends to."""
    low = 0 if zero_is_default else 1
    if value is None or low <= value <= 65535:
        return
    if zero_is_default:
        allowed = f"0..65535, where 0 means the default {default}"
    else:
        allowed = f"1..65535; flannel's default is {default}"
    report.error(f"{where}.{key}: {value} is not a port (must be {allowed})")


def overlay_mtu(backend: str, underlay_mtu: int, backend_cfg: Mapping[str, Any]) -> int | None:
    """The MTU flannel writes to subnet.env for ``backend`` on this underlay."""
    if backend not in MTU_OVERHEAD:
        return None
    base = underlay_mtu
    if backend in BACKENDS_WITH_MTU_KEY and (backend_cfg.get("MTU") or 0) > 0:
        base = backend_cfg["MTU"]
    overhead = MTU_OVERHEAD[backend]
    if backend == "ipsec" and backend_cfg.get("UDPEncap"):
        overhead += IPSEC_UDP_ENCAP_OVERHEAD
    return base - overhead


def mtu_by_backend(underlay_mtu: int = DEFAULT_UNDERLAY_MTU) -> dict[str, int]:
    """The overlay MTU every data-path backend leaves on an underlay of ``underlay_mtu``."""
    mtu = as_int(underlay_mtu)
    if mtu is None:
        raise ValueError(f"underlay MTU must be an integer, got {show(underlay_mtu)}")
    return {name: mtu - overhead for name, overhead in MTU_OVERHEAD.items()}


def check_backend(
    cfg: Mapping[str, Any],
    invalid: set[str],
    underlay_mtu: int | None,
    ipv6: bool,
    report: Report,
) -> dict[str, Any]:
    """The Backend object: its type, its keys and their ranges, and the MTU it leaves."""
    where = f"{CONFIG_VAR}.Backend"
    plan: dict[str, Any] = {"backend": None, "mtu": None}
    if "Backend" in invalid:
        return plan
    raw = cfg.get("Backend")
    if raw is None:
        report.error(
            f"{where}: missing; without it flanneld silently uses the udp backend (not vxlan), "
            "so set Backend.Type explicitly, e.g. Backend: {Type: vxlan}"
        )
        backend, backend_cfg = "udp", {}
    else:
        type_key = next((k for k in raw if isinstance(k, str) and k.lower() == "type"), None)
        raw_type = raw.get(type_key) if type_key is not None else None
        if raw_type is None:
            report.error(
                f"{where}.Type: missing; a Backend without Type is fatal to flanneld "
                f"(known types: {', '.join(sorted(BACKEND_KEYS))})"
            )
            return plan
        if not isinstance(raw_type, str):
            report.error(f"{where}.Type: must be a string such as vxlan, got {show(raw_type)}")
            return plan
        backend = raw_type.strip().lower()  # flannel lower-cases the type
        if backend in REMOVED_BACKENDS:
            report.error(
                f"{where}.Type: {show(raw_type)} is not built into flannel {FLANNEL_VERSION} "
                f"(the {', '.join(REMOVED_BACKENDS)} backends were removed upstream)"
            )
            return plan
        if backend not in BACKEND_KEYS:
            hint = suggest(backend, BACKEND_KEYS)
            mean = f"did you mean {hint}? " if hint else ""
            report.error(
                f"{where}.Type: {show(raw_type)} is not a flannel {FLANNEL_VERSION} backend "
                f"({mean}known: {', '.join(sorted(BACKEND_KEYS))})"
            )
            return plan
        backend_cfg, _ = canonical_keys(
            raw, BACKEND_KEYS[backend], where, report, foreign_backend_key(backend)
        )
        check_backend_values(backend, backend_cfg, where, report)
        if backend == "tencent-vpc":
            report.warn(
                f"{where}.Type: tencent-vpc is a cloud backend: it works only on Tencent Cloud "
                "VPC hosts with API credentials; this toolkit does not test it"
            )
        elif backend == "alloc":
            report.warn(
                f"{where}.Type: alloc only leases subnets; it carries no traffic between "
                "hosts, so containers on different nodes cannot reach each other"
            )
        elif backend == "extension":
            report.warn(
                f"{where}.Type: extension runs your own commands "
                "(PreStartupCommand, SubnetAddCommand, ...); this toolkit does not check them"
            )
    plan["backend"] = backend
    if underlay_mtu is None:
        return plan
    mtu = overlay_mtu(backend, underlay_mtu, backend_cfg)
    plan["mtu"] = mtu
    if mtu is None:
        return plan
    minimum, family = (MIN_MTU_V6, "IPv6") if ipv6 else (MIN_MTU_V4, "IPv4")
    extra = " (EnableIPv6 is true)" if ipv6 else ""
    overhead = MTU_OVERHEAD[backend]
    if backend in BACKENDS_WITH_MTU_KEY and (backend_cfg.get("MTU") or 0) > 0:
        base = backend_cfg["MTU"]
        if mtu < minimum:
            report.error(
                f"{where}.MTU: {base} leaves an overlay MTU of {mtu} ({base} - {overhead} "
                f"{backend} overhead), below the {family} minimum of {minimum}{extra}"
            )
        if underlay_mtu < base <= MAX_MTU:
            report.warn(
                f"{where}.MTU: {base} is larger than flannel_underlay_mtu {underlay_mtu}: "
                "encapsulated packets would not fit the underlay and be dropped or fragmented"
            )
    elif mtu < minimum:
        report.error(
            f"flannel_underlay_mtu: {underlay_mtu} leaves an overlay MTU of {mtu} for the "
            f"{backend} backend ({underlay_mtu} - {underlay_mtu - mtu} overhead), below the "
            f"{family} minimum of {minimum}{extra}"
        )
    return plan


def check_backend_values(
    backend: str, backend_cfg: Mapping[str, Any], where: str, report: Report
) -> None:
    """Ranges and values of the keys one backend reads."""
    if backend == "vxlan":
        vni = backend_cfg.get("VNI")
        if vni is not None and not 0 <= vni <= MAX_VNI:
            report.error(
                f"{where}.VNI: {vni} is out of range (must be 0..{MAX_VNI}, 24 bits; "
                "flannel's default is 1)"
            )
        check_port(backend_cfg.get("Port"), "Port", where, 8472, report, zero_is_default=True)
    elif backend == "udp":
        check_port(backend_cfg.get("Port"), "Port", where, 8285, report)
    elif backend == "wireguard":
        check_port(backend_cfg.get("ListenPort"), "ListenPort", where, 51820, report)
        check_port(backend_cfg.get("ListenPortV6"), "ListenPortV6", where, 51821, report)
        mode = backend_cfg.get("Mode")
        if mode is not None and mode not in WIREGUARD_MODES:
            report.error(
                f"{where}.Mode: {show(mode)} is not one of {', '.join(WIREGUARD_MODES)} "
                "(flanneld would fail with 'no valid Mode configured')"
            )
        keepalive = backend_cfg.get("PersistentKeepaliveInterval")
        if keepalive is not None and keepalive < 0:
            report.error(
                f"{where}.PersistentKeepaliveInterval: {keepalive} must be 0 (off) or a "
                "number of seconds"
            )
        psk = backend_cfg.get("PSK")
        if psk is not None and not is_wireguard_key(psk):
            report.error(
                f"{where}.PSK: is not a WireGuard key (base64 of 32 bytes, as `wg genpsk` prints)"
            )
    elif backend == "ipsec":
        psk = backend_cfg.get("PSK")
        if psk is None:
            report.error(
                f"{where}.PSK: missing; the ipsec backend refuses to start without a pre-shared "
                f"key of at least {IPSEC_MIN_PSK_LEN} characters"
            )
        elif len(psk) < IPSEC_MIN_PSK_LEN:
            report.error(
                f"{where}.PSK: is {len(psk)} characters long; the ipsec backend needs at least "
                f"{IPSEC_MIN_PSK_LEN}"
            )
    if backend in BACKENDS_WITH_MTU_KEY:
        mtu = backend_cfg.get("MTU")
        if mtu is not None and mtu != 0 and not 0 < mtu <= MAX_MTU:
            report.error(
                f"{where}.MTU: {mtu} is not an MTU (must be 1..{MAX_MTU}; 0 or unset "
                "means the interface's MTU)"
            )


def is_wireguard_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def check_network_config(
    config: Any, underlay_mtu: int | None, report: Report
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """All rules on ``flannel_network_config`` alone. Returns (plan, IPv4 plan or None)."""
    plan: dict[str, Any] = {}
    if not isinstance(config, Mapping):
        report.error(
            f"{CONFIG_VAR}: must be a mapping of flannel's JSON keys (Network, SubnetLen, "
            f"Backend, ...), got {type_name(config)}"
        )
        return plan, None
    cfg, invalid = canonical_keys(config, TOP_LEVEL_KEYS, CONFIG_VAR, report)
    if cfg.get("EnableIPv4") is False:
        report.error(
            f"{CONFIG_VAR}.EnableIPv4: false is not supported by this toolkit: Docker's "
            "--bip comes from the IPv4 FLANNEL_SUBNET"
        )
    ipv6 = cfg.get("EnableIPv6") is True
    v4 = check_family(cfg, invalid, V4, report)
    if v4 is not None:
        plan.update(v4)
    if ipv6:
        plan["ipv6"] = check_family(cfg, invalid, V6, report)
    else:
        ignored = [k for k in (V6.net_key, V6.len_key, V6.min_key, V6.max_key) if k in cfg]
        if ignored:
            report.warn(
                f"{CONFIG_VAR}.{ignored[0]}: set but EnableIPv6 is not true, so flannel "
                "ignores the IPv6 keys"
            )
    plan.update(check_backend(cfg, invalid, underlay_mtu, ipv6, report))
    return plan, v4


def check_etcd_prefix(prefix: Any, report: Report) -> bool:
    """flannel_etcd_prefix must be an absolute etcd key path. Returns whether it is one."""
    where = "flannel_etcd_prefix"
    if not isinstance(prefix, str):
        report.error(f"{where}: must be a string such as {DEFAULT_ETCD_PREFIX}, got {show(prefix)}")
        return False
    reasons = []
    if not prefix.startswith("/"):
        reasons.append("it must start with '/'")
    if prefix.endswith("/"):
        reasons.append("it must not end with '/' (flannel appends /config and /subnets/...)")
    if "//" in prefix:
        reasons.append("it has an empty segment ('//')")
    if any(ch.isspace() for ch in prefix):
        reasons.append("it contains whitespace")
    if reasons:
        report.error(
            f"{where}: {show(prefix)} is not an absolute etcd key path such as "
            f"{DEFAULT_ETCD_PREFIX}: {'; '.join(reasons)}"
        )
    return not reasons


def check_ranges_against(
    net: IPNetwork | None,
    reserved_cidrs: Any,
    lab_cidr: Any,
    report: Report,
    net_where: str = f"{CONFIG_VAR}.Network",
) -> None:
    """Network against flannel_reserved_cidrs and lab_cidr (validating both)."""
    ranges: list[tuple[str, IPNetwork]] = []
    if reserved_cidrs is not None and (
        isinstance(reserved_cidrs, str | bytes) or not isinstance(reserved_cidrs, Sequence)
    ):
        report.error(
            f"flannel_reserved_cidrs: must be a list of CIDRs, got {type_name(reserved_cidrs)}"
            + (f" {show(reserved_cidrs)}" if isinstance(reserved_cidrs, str) else "")
        )
    else:
        for index, entry in enumerate(reserved_cidrs or []):
            name = f"flannel_reserved_cidrs[{index}]"
            cidr = parse_cidr(entry)
            if cidr is None:
                report.error(f"{name}: {show(entry)} is not a CIDR (such as 10.96.0.0/12)")
            else:
                ranges.append((name, cidr))
    if lab_cidr is not None and lab_cidr != "":
        cidr = parse_cidr(lab_cidr)
        if cidr is None:
            report.error(f"lab_cidr: {show(lab_cidr)} is not a CIDR (such as 10.77.0.0/24)")
        else:
            ranges.append(("lab_cidr", cidr))
    if net is None:
        return
    for name, cidr in ranges:
        if cidr.version == net.version and net.overlaps(cidr):
            what = " (the lab's underlay network)" if name == "lab_cidr" else ""
            report.error(f"{net_where}: {net} overlaps {name} {cidr}{what}")


def parse_cidr(value: Any) -> IPNetwork | None:
    """A CIDR (host bits allowed, a bare address is a /32 or /128) or None."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def check_special_ranges(net: IPNetwork, report: Report) -> None:
    if net.version != 4:
        return
    for special, what in SPECIAL_RANGES_V4:
        if net.overlaps(special):
            report.error(
                f"{CONFIG_VAR}.Network: {net} overlaps the {what} range {special}; "
                "container addresses must be ordinary unicast addresses"
            )


def check_docker_ranges(net: IPNetwork, report: Report) -> None:
    """Docker's default bridge and address pools: a clash is legal but worth knowing."""
    if net.version != 4:
        return
    hits = []
    if net.overlaps(DOCKER_DEFAULT_BRIDGE):
        hits.append(f"default bridge {DOCKER_DEFAULT_BRIDGE}")
    pools = [
        str(pool)
        for pool in DOCKER_DEFAULT_POOLS
        if pool != DOCKER_DEFAULT_BRIDGE and net.overlaps(pool)
    ]
    if pools:
        hits.append(f"default address pools ({', '.join(pools)})")
    if not hits:
        return
    report.warn(
        f"{CONFIG_VAR}.Network: {net} overlaps Docker's {' and '.join(hits)}. docker0 moves "
        "onto the flannel subnet, so that is fine for it, but user-defined Docker networks "
        "take their subnets from the default pools and may collide: set "
        "default-address-pools in daemon.json if you create any"
    )


# --- the inventory ------------------------------------------------------------------


def normalize_hosts(group: Any) -> dict[str, dict[str, Any]]:
    """A group as {host: {var: value}} from a list of names, {name: address} or a view."""
    if group is None:
        return {}
    if isinstance(group, Mapping):
        out: dict[str, dict[str, Any]] = {}
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


def resolve_cluster_var(
    var: str, default: Any, nodes: Mapping[str, Mapping[str, Any]], report: Report
) -> Any:
    """The value every node sees for a cluster-wide variable; an error if they differ."""
    if not nodes:
        return default
    seen: list[tuple[Any, list[str]]] = []
    for name, hostvars in nodes.items():
        value = hostvars.get(var, default)
        for known, names in seen:
            if known == value:
                names.append(name)
                break
        else:
            seen.append((value, [name]))
    if len(seen) > 1:
        sides = " vs ".join(describe_hosts(names) for _, names in seen)
        report.error(
            f"{var}: differs between hosts of group nodes ({sides}); it describes the whole "
            "cluster, so set it once (e.g. in group_vars/all)"
        )
    return seen[0][0]


def check_groups(
    etcd: Mapping[str, Mapping[str, Any]], nodes: Mapping[str, Mapping[str, Any]], report: Report
) -> None:
    if not etcd:
        report.error(
            "groups.etcd: the inventory has no 'etcd' group or it is empty; "
            "list the etcd members there (1, 3 or 5 hosts)"
        )
    elif len(etcd) % 2 == 0:
        tolerated = (len(etcd) - 1) // 2
        report.warn(
            f"groups.etcd: {len(etcd)} members is an even number; it survives {tolerated} "
            f"failed member(s), no more than {len(etcd) - 1} would, so use an odd number "
            "(1, 3 or 5)"
        )
    if not nodes:
        report.error(
            "groups.nodes: the inventory has no 'nodes' group or it is empty; "
            "list every host that runs flanneld and Docker there"
        )
    for group, hosts, why in (
        ("etcd", etcd, "each etcd member needs its own peer URL"),
        ("nodes", nodes, "flannel keys each lease by the node's PublicIP, so they would share one"),
    ):
        by_address: dict[str, list[str]] = {}
        for name, hostvars in hosts.items():
            by_address.setdefault(host_address(name, hostvars), []).append(name)
        for address, names in by_address.items():
            if len(names) > 1:
                report.error(
                    f"groups.{group}: hosts {describe_hosts(names)} share the address "
                    f"{address} (ansible_host); {why}"
                )


def check_host_addresses(
    net: IPNetwork | None, hosts: Mapping[str, Mapping[str, Any]], report: Report
) -> None:
    """No inventory address may fall inside the flannel Network (names are skipped)."""
    if net is None:
        return
    inside = []
    for name, hostvars in hosts.items():
        addr = parse_address(host_address(name, hostvars))
        if addr is not None and addr.version == net.version and addr in net:
            inside.append(f"{name} ({addr})")
    if inside:
        report.error(
            f"{CONFIG_VAR}.Network: {net} contains the address of host(s) {', '.join(inside)}; "
            "the overlay must not overlap the hosts' own network"
        )


def check_host_gw(
    nodes: Mapping[str, Mapping[str, Any]], underlay_prefix: int | None, report: Report
) -> None:
    """host-gw routes straight to the other nodes, so they must share one L2 subnet."""
    if underlay_prefix is None:
        return
    subnets: dict[str, list[str]] = {}
    unknown = []
    for name, hostvars in nodes.items():
        addr = parse_address(host_address(name, hostvars))
        if addr is None or addr.version != 4:
            unknown.append(name)
            continue
        subnet = ipaddress.ip_network(f"{addr}/{underlay_prefix}", strict=False)
        subnets.setdefault(str(subnet), []).append(name)
    if len(subnets) > 1:
        spread = "; ".join(f"{net}: {describe_hosts(names)}" for net, names in subnets.items())
        report.error(
            f"{CONFIG_VAR}.Backend.Type: host-gw needs every node on one L2 segment, but the "
            f"nodes' addresses are not in one /{underlay_prefix} (flannel_underlay_prefix): "
            f"{spread}; use vxlan (optionally with DirectRouting) instead"
        )
    if unknown:
        report.warn(
            f"{CONFIG_VAR}.Backend.Type: host-gw needs L2 adjacency, which cannot be checked "
            f"for nodes not given by IPv4 address: {describe_hosts(unknown)}"
        )


def check_udp_arch(
    nodes: Mapping[str, Mapping[str, Any]], default_arch: Any, report: Report
) -> None:
    """The udp backend exists only in amd64 builds of flanneld (it needs cgo)."""
    archs: dict[Any, list[str]] = {}
    owners = list(nodes.items()) or [("", {})]
    for name, hostvars in owners:
        arch = hostvars.get("flannel_arch", default_arch)
        if arch != "amd64":
            archs.setdefault(arch, []).append(name)
    for arch, names in archs.items():
        on = f" (host(s) {describe_hosts(names)})" if any(names) else ""
        report.error(
            f"flannel_arch: {show(arch)} cannot run the udp backend{on}; flanneld has udp "
            "only in amd64 builds, so use vxlan"
        )


def resolve_file(path: str, search_dirs: Sequence[str]) -> tuple[str | None, list[str]]:
    """The first existing candidate for ``path`` and the list of places looked at."""
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        candidates = [expanded]
    else:
        dirs = [*search_dirs, os.getcwd()]
        candidates = list(dict.fromkeys(os.path.join(d, expanded) for d in dirs if d))
    for candidate in candidates:
        if os.path.exists(candidate):
            return candidate, candidates
    return None, candidates


def check_tls_files(
    hosts: Mapping[str, Mapping[str, Any]],
    defaults: Mapping[str, Any],
    search_dirs: Sequence[str],
    report: Report,
) -> None:
    """User-supplied TLS files: each given one must exist; cert and key come in pairs."""
    uses: dict[tuple[str, str], list[str]] = {}
    lonely: dict[tuple[str, str], list[str]] = {}
    owners = list(hosts.items()) or [("", {})]
    for name, hostvars in owners:
        values = {var: hostvars.get(var, defaults.get(var)) for var in TLS_FILE_VARS}
        for var, value in values.items():
            if value in (None, ""):
                continue
            if not isinstance(value, str):
                report.error(f"{var}: must be a path on the controller, got {show(value)}")
                continue
            uses.setdefault((var, value), []).append(name)
        for first, second in TLS_PAIRS:
            given = [v for v in (first, second) if values.get(v) not in (None, "")]
            if len(given) == 1:
                missing = second if given[0] == first else first
                lonely.setdefault((missing, given[0]), []).append(name)
    everyone = sorted(name for name, _ in owners)

    def which(names: list[str], label: str) -> str:
        """Name the hosts only when the value is not the same for all of them."""
        if not any(names) or sorted(names) == everyone:
            return ""
        return f" ({label} {describe_hosts(names)})"

    for (missing, given), names in lonely.items():
        on = which(names, "host(s)")
        report.error(
            f"{missing}: must be given together with {given}{on}; a certificate is "
            "useless without its key and the other way round"
        )
    for (var, path), names in uses.items():
        found, looked = resolve_file(path, search_dirs)
        on = which(names, "used by")
        if found is None:
            where = (
                ""
                if os.path.isabs(os.path.expanduser(path))
                else f"; looked in {', '.join(looked)}"
            )
            report.error(f"{var}: {path} does not exist on the controller{on}{where}")
        elif not os.path.isfile(found):
            report.error(f"{var}: {found} is not a regular file{on}")


# --- the entry points -----------------------------------------------------------------


def flannel_preflight(
    inventory: Mapping[str, Any] | None = None,
    config: Any = None,
    etcd_prefix: Any = DEFAULT_ETCD_PREFIX,
    reserved_cidrs: Any = None,
    lab_cidr: Any = None,
    underlay_prefix: Any = DEFAULT_UNDERLAY_PREFIX,
    underlay_mtu: Any = DEFAULT_UNDERLAY_MTU,
    arch: Any = DEFAULT_ARCH,
    tls_files: Mapping[str, Any] | None = None,
    search_dirs: Sequence[str] = (),
) -> dict[str, Any]:
    """Check the inventory and the flannel network plan; nothing is contacted.

    ``inventory`` is ``{"etcd": group, "nodes": group}`` where a group is a list of host
    names, a mapping of name to address, or (from ``flannel_inventory_view``) a mapping of
    name to that host's variables. The keyword arguments are the controller-side values of
    the variables (with their defaults); a host's own value, where it has one, wins.
    ``config`` None means the default network config.

    Returns ``{"errors": [...], "warnings": [...], "plan": {...}}``.
    """
    report = Report()
    inventory = inventory or {}
    etcd = normalize_hosts(inventory.get("etcd"))
    nodes = normalize_hosts(inventory.get("nodes"))
    unresolved: dict[tuple[str, str], set[str]] = {}
    for name, hostvars in {**etcd, **nodes}.items():
        for var, message in (hostvars.get(ERROR_KEY) or {}).items():
            unresolved.setdefault((var, message), set()).add(name)
    for (var, message), names in unresolved.items():
        report.error(
            f"{var}: could not be templated for host(s) {describe_hosts(names)}: {message}"
        )

    defaults = {
        CONFIG_VAR: DEFAULT_NETWORK_CONFIG if config is None else config,
        "flannel_etcd_prefix": etcd_prefix,
        "flannel_reserved_cidrs": [] if reserved_cidrs is None else reserved_cidrs,
        "flannel_underlay_prefix": underlay_prefix,
        "flannel_underlay_mtu": underlay_mtu,
        "lab_cidr": lab_cidr,
    }
    values = {var: resolve_cluster_var(var, defaults[var], nodes, report) for var in CLUSTER_VARS}

    prefix_len = as_int(values["flannel_underlay_prefix"])
    if prefix_len is None or not 0 <= prefix_len <= 32:
        report.error(
            "flannel_underlay_prefix: "
            f"{show(values['flannel_underlay_prefix'])} must be an integer between 0 and 32"
        )
        prefix_len = None
    mtu = as_int(values["flannel_underlay_mtu"])
    if mtu is None or not MIN_MTU_V4 <= mtu <= MAX_MTU:
        report.error(
            f"flannel_underlay_mtu: {show(values['flannel_underlay_mtu'])} must be an integer "
            f"between {MIN_MTU_V4} and {MAX_MTU}"
        )
        mtu = None

    check_groups(etcd, nodes, report)
    config_plan, v4 = check_network_config(values[CONFIG_VAR], mtu, report)
    prefix_ok = check_etcd_prefix(values["flannel_etcd_prefix"], report)

    net = ipaddress.ip_network(v4["network"]) if v4 else None
    if net is not None:
        check_special_ranges(net, report)
    all_hosts = {**etcd, **nodes}
    check_host_addresses(net, all_hosts, report)
    check_ranges_against(net, values["flannel_reserved_cidrs"], values["lab_cidr"], report)
    ipv6_plan = config_plan.get("ipv6")
    if ipv6_plan:
        net6 = ipaddress.ip_network(ipv6_plan["network"])
        check_host_addresses(net6, all_hosts, report)
        check_ranges_against(
            net6, values["flannel_reserved_cidrs"], None, report, f"{CONFIG_VAR}.IPv6Network"
        )
    if net is not None:
        check_docker_ranges(net, report)

    backend = config_plan.get("backend")
    if backend == "host-gw":
        check_host_gw(nodes, prefix_len, report)
    if backend == "udp":
        check_udp_arch(nodes, arch, report)
    check_tls_files(all_hosts, tls_files or {}, search_dirs, report)

    needed = len(nodes)
    available = config_plan.get("subnets_available")
    fits = available is not None and available >= needed
    # 0 only happens with SubnetMin above SubnetMax, which has its own error.
    if available and not fits:
        span = (
            f"between SubnetMin {config_plan['subnet_min']} and SubnetMax "
            f"{config_plan['subnet_max']}"
        )
        report.error(
            f"{CONFIG_VAR}: only {available} subnet(s) of /{config_plan['subnet_len']} fit "
            f"{span}, but group nodes has {needed} hosts and each leases one; widen "
            "SubnetMin/SubnetMax, shorten SubnetLen or use a larger Network"
        )
    if ipv6_plan and ipv6_plan.get("subnets_available") is not None:
        if ipv6_plan["subnets_available"] < needed:
            report.error(
                f"{CONFIG_VAR}: only {ipv6_plan['subnets_available']} IPv6 subnet(s) of "
                f"/{ipv6_plan['subnet_len']} fit between IPv6SubnetMin and IPv6SubnetMax, but "
                f"group nodes has {needed} hosts"
            )

    prefix = values["flannel_etcd_prefix"]
    plan: dict[str, Any] = {
        "network": config_plan.get("network"),
        "subnet_len": config_plan.get("subnet_len"),
        "subnet_len_from": config_plan.get("subnet_len_from"),
        "subnet_min": config_plan.get("subnet_min"),
        "subnet_max": config_plan.get("subnet_max"),
        "subnets_available": available,
        "subnets_needed": needed,
        "fits": fits,
        "backend": backend,
        "mtu": config_plan.get("mtu"),
        "underlay_mtu": mtu,
        "mtu_by_backend": mtu_by_backend(mtu) if mtu is not None else {},
        "etcd_prefix": prefix,
        "config_key": f"{prefix}/config" if prefix_ok else None,
        "etcd_members": sorted(etcd),
        "nodes": sorted(nodes),
    }
    if ipv6_plan is not None:
        plan["ipv6"] = ipv6_plan
    return {"errors": report.errors, "warnings": report.warnings, "plan": plan}


def flannel_plan(inventory: Mapping[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    """Only the plan of :func:`flannel_preflight` (same arguments)."""
    return flannel_preflight(inventory, **kwargs)["plan"]


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


def flannel_inventory_view(
    hostvars: Mapping[str, Any], groups: Mapping[str, Sequence[str]]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The variables the rules need, for each host of the etcd and nodes groups.

    Reading a host's variables templates them; a variable that fails to template is
    recorded under ``__errors__`` for :func:`flannel_preflight` to report.
    """
    view: dict[str, dict[str, dict[str, Any]]] = {}
    for group in HOST_GROUPS:
        view[group] = {}
        for name in groups.get(group) or []:
            host = hostvars[name]
            picked: dict[str, Any] = {}
            failed: dict[str, str] = {}
            for var in VIEW_VARS:
                try:
                    if var in host:
                        picked[var] = materialize(host[var])
                except Exception as exc:  # any templating failure, reported later
                    text = str(exc).strip()
                    failed[var] = text.splitlines()[0] if text else type(exc).__name__
            if failed:
                picked[ERROR_KEY] = failed
            view[group][name] = picked
    return view


def flannel_plan_report(result: Mapping[str, Any], errors: bool = True) -> list[str]:
    """The plan, the warnings and (unless ``errors`` is false) the errors as lines."""
    plan = result.get("plan") or {}
    lines: list[str] = []

    def value(key: str) -> str:
        got = plan.get(key)
        return "?" if got is None else str(got)

    len_from = " (flannel's default)" if plan.get("subnet_len_from") == "default" else ""
    lines.append(
        f"Network:        {value('network')}, one /{value('subnet_len')} per node{len_from}"
    )
    lines.append(f"Subnet range:   {value('subnet_min')} .. {value('subnet_max')}")
    fits = "fits" if plan.get("fits") else "DOES NOT FIT"
    lines.append(
        f"Subnets:        {value('subnets_available')} available, "
        f"{value('subnets_needed')} needed (group nodes): {fits}"
    )
    lines.append(
        f"Backend:        {value('backend')}, overlay MTU {value('mtu')} on a "
        f"{value('underlay_mtu')}-byte underlay"
    )
    by_backend = plan.get("mtu_by_backend") or {}
    if by_backend:
        listed = ", ".join(f"{name} {mtu}" for name, mtu in by_backend.items())
        lines.append(f"MTU by backend: {listed} (underlay {value('underlay_mtu')})")
    ipv6 = plan.get("ipv6")
    if ipv6:
        lines.append(
            f"IPv6:           {ipv6.get('network')}, one /{ipv6.get('subnet_len')} per node, "
            f"{ipv6.get('subnets_available')} available"
        )
    members = plan.get("etcd_members") or []
    lines.append(
        f"etcd:           {len(members)} member(s) ({', '.join(members) or 'none'}); "
        f"config at {value('config_key')}"
    )
    lines.append(f"Nodes:          {', '.join(plan.get('nodes') or []) or 'none'}")
    for warning in result.get("warnings") or []:
        lines.append(f"WARNING: {warning}")
    for error in (result.get("errors") or []) if errors else []:
        lines.append(f"ERROR: {error}")
    return lines


class FilterModule:
    """Ansible filters for the flannel plan and preflight."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "flannel_inventory_view": flannel_inventory_view,
            "flannel_preflight": flannel_preflight,
            "flannel_plan": flannel_plan,
            "flannel_plan_report": flannel_plan_report,
            "flannel_mtu_by_backend": mtu_by_backend,
        }
