"""The model of flannel's network config: its keys, their types and limits, how flannel
reads a value, and the small helpers every rule uses to read and quote values.

The rules follow flannel v0.28.9 (pkg/subnet/config.go and pkg/backend/*).
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

FLANNEL_VERSION = "v0.28.9"
CONFIG_VAR = "flannel_network_config"

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
WIREGUARD_MODES = ("separate", "auto", "ipv4", "ipv6")
IPSEC_MIN_PSK_LEN = 96

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


# --- reading and quoting values ---------------------------------------------------


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


def int_between(value: Any, low: int, high: int) -> int | None:
    """``as_int(value)`` when it lies in low..high, else None."""
    number = as_int(value)
    return number if number is not None and low <= number <= high else None


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


def parse_cidr(value: Any) -> IPNetwork | None:
    """A CIDR (host bits allowed, a bare address is a /32 or /128) or None."""
    if not isinstance(value, str):
        return None
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def etcd_prefix_faults(prefix: Any) -> list[str] | None:
    """Why ``prefix`` is not an absolute etcd key path: None when it is not even a string,
    an empty list when it is a good one."""
    if not isinstance(prefix, str):
        return None
    reasons = []
    if not prefix.startswith("/"):
        reasons.append("it must start with '/'")
    if prefix.endswith("/"):
        reasons.append("it must not end with '/' (flannel appends /config and /subnets/...)")
    if "//" in prefix:
        reasons.append("it has an empty segment ('//')")
    if any(ch.isspace() for ch in prefix):
        reasons.append("it contains whitespace")
    return reasons


def describe_hosts(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))
