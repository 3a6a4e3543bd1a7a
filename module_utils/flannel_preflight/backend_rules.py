"""The rules on the Backend of ``flannel_network_config``: its type, the keys that type
reads and their values, and the MTU it leaves on the underlay. Each ``check_*`` is one
rule of ``rules.RULES``; docs/preflight.md lists them with their messages.

``check_backend_type`` records the backend in :class:`Facts`, ``check_backend_keys`` its
known keys, for the rules after them and for the plan.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

from .config_rules import canonical_keys
from .inventory import Facts
from .model import (
    BACKEND_KEYS,
    CONFIG_VAR,
    FLANNEL_VERSION,
    IPSEC_MIN_PSK_LEN,
    MAX_MTU,
    MAX_VNI,
    MIN_MTU_V4,
    MIN_MTU_V6,
    REMOVED_BACKENDS,
    WIREGUARD_MODES,
    Report,
    show,
    suggest,
)
from .plan import BACKENDS_WITH_MTU_KEY, MTU_OVERHEAD, backend_mtu_key, facts_mtu

BACKEND_WHERE = f"{CONFIG_VAR}.Backend"


def check_backend_type(facts: Facts, report: Report) -> None:
    """Backend and its Type: present, a backend flannel builds in; records the backend."""
    if facts.config is None or "Backend" in facts.invalid:
        return
    where = BACKEND_WHERE
    raw = facts.config.get("Backend")
    if raw is None:
        report.error(
            f"{where}: missing; without it flanneld silently uses the udp backend (not vxlan), "
            "so set Backend.Type explicitly, e.g. Backend: {Type: vxlan}"
        )
        facts.backend = "udp"
        return
    type_key = next((k for k in raw if isinstance(k, str) and k.lower() == "type"), None)
    raw_type = raw.get(type_key) if type_key is not None else None
    if raw_type is None:
        report.error(
            f"{where}.Type: missing; a Backend without Type is fatal to flanneld "
            f"(known types: {', '.join(sorted(BACKEND_KEYS))})"
        )
        return
    if not isinstance(raw_type, str):
        report.error(f"{where}.Type: must be a string such as vxlan, got {show(raw_type)}")
        return
    backend = raw_type.strip().lower()  # flannel lower-cases the type
    if backend in REMOVED_BACKENDS:
        report.error(
            f"{where}.Type: {show(raw_type)} is not built into flannel {FLANNEL_VERSION} "
            f"(the {', '.join(REMOVED_BACKENDS)} backends were removed upstream)"
        )
        return
    if backend not in BACKEND_KEYS:
        hint = suggest(backend, BACKEND_KEYS)
        mean = f"did you mean {hint}? " if hint else ""
        report.error(
            f"{where}.Type: {show(raw_type)} is not a flannel {FLANNEL_VERSION} backend "
            f"({mean}known: {', '.join(sorted(BACKEND_KEYS))})"
        )
        return
    facts.backend, facts.backend_raw = backend, raw
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


def check_backend_keys(facts: Facts, report: Report) -> None:
    """The Backend's keys: the ones its type reads, each once and of its JSON type."""
    if facts.backend is None or facts.backend_raw is None:
        return
    facts.backend_cfg, _ = canonical_keys(
        facts.backend_raw,
        BACKEND_KEYS[facts.backend],
        BACKEND_WHERE,
        report,
        foreign_backend_key(facts.backend),
    )


def check_port(
    value: Any, key: str, default: int, report: Report, zero_is_default: bool = False
) -> None:
    """A UDP port flannel listens on or sends to."""
    low = 0 if zero_is_default else 1
    if value is None or low <= value <= 65535:
        return
    if zero_is_default:
        allowed = f"0..65535, where 0 means the default {default}"
    else:
        allowed = f"1..65535; flannel's default is {default}"
    report.error(f"{BACKEND_WHERE}.{key}: {value} is not a port (must be {allowed})")


def is_wireguard_key(text: str) -> bool:
    try:
        return len(base64.b64decode(text, validate=True)) == 32
    except (binascii.Error, ValueError):
        return False


def check_backend_values(facts: Facts, report: Report) -> None:
    """Ranges and values of the keys one backend reads."""
    if facts.backend is None or facts.backend_raw is None:
        return
    backend, backend_cfg, where = facts.backend, facts.backend_cfg, BACKEND_WHERE
    if backend == "vxlan":
        vni = backend_cfg.get("VNI")
        if vni is not None and not 0 <= vni <= MAX_VNI:
            report.error(
                f"{where}.VNI: {vni} is out of range (must be 0..{MAX_VNI}, 24 bits; "
                "flannel's default is 1)"
            )
        check_port(backend_cfg.get("Port"), "Port", 8472, report, zero_is_default=True)
    elif backend == "udp":
        check_port(backend_cfg.get("Port"), "Port", 8285, report)
    elif backend == "wireguard":
        check_port(backend_cfg.get("ListenPort"), "ListenPort", 51820, report)
        check_port(backend_cfg.get("ListenPortV6"), "ListenPortV6", 51821, report)
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


def check_overlay_mtu(facts: Facts, report: Report) -> None:
    """The overlay MTU the backend leaves must carry an IPv4 (or IPv6) datagram.

    A Backend.MTU above flannel_underlay_mtu is a warning.
    """
    mtu = facts_mtu(facts)
    if mtu is None or facts.backend is None or facts.underlay_mtu is None:
        return
    backend, underlay_mtu, where = facts.backend, facts.underlay_mtu, BACKEND_WHERE
    minimum, family = (MIN_MTU_V6, "IPv6") if facts.ipv6 else (MIN_MTU_V4, "IPv4")
    extra = " (EnableIPv6 is true)" if facts.ipv6 else ""
    overhead = MTU_OVERHEAD[backend]
    base = backend_mtu_key(backend, facts.backend_cfg)
    if base is not None:
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
