"""Readers of the verify play's raw results: subnet.env, etcd's flannel keys, ``ip -j``
output, ``docker inspect``. Pure functions; the checks and the verdict built on them are
in ``filter_plugins/flannel_verify.py``, which imports this as module_utils/
flannel_preflight/__init__.py explains.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
from collections.abc import Mapping, Sequence
from typing import Any

# subnet.env is parsed by the one parser the Docker options helper uses. Inside the
# built collection this is a package module (relative import); in the repository the
# filter puts module_utils/ on sys.path and this is a top-level module.
try:
    from . import flannel_docker_opts
except ImportError:
    import flannel_docker_opts  # type: ignore[no-redef]

Result = Mapping[str, Any]


def _ran(result: Result | None) -> bool:
    return bool(result) and not result.get("skipped") and not result.get("unreachable")


def _stdout(result: Result | None) -> str | None:
    """stdout of a command that ran and exited 0, else None."""
    ok = _ran(result) and result.get("rc", 1) == 0
    return str(result.get("stdout", "")) if ok else None


def _why(result: Result | None) -> str:
    """A short reason a result is not usable."""
    if not result:
        return "no result"
    if result.get("skipped"):
        return "skipped"
    text = str(result.get("stderr") or result.get("msg") or result.get("stdout") or "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else f"rc={result.get('rc')}"


def probe_pairs(result: Result | None) -> list[Mapping[str, Any]] | None:
    """The per-target results of an overlay_check call, or None when it did not run."""
    if not _ran(result) or result.get("failed"):
        return None
    pairs = result.get("pairs")
    return [p for p in pairs if isinstance(p, Mapping)] if isinstance(pairs, list) else None


# The probes of a pair (library/overlay_check.py): the result's key, the name in messages,
# the label in the matrix. ping and tcp are always sent (a missing result failed); a
# published probe is null when it was not sent, which is no failure.
PROBES = (
    ("ping_ok", "ping", "ping"),
    ("tcp_ok", "tcp", "tcp"),
    ("published_host_ok", "published via host", "pub-host"),
    ("published_container_ok", "published via container", "pub-ctr"),
)
ALWAYS_SENT = ("ping_ok", "tcp_ok")


def failed_probes(pair: Mapping[str, Any], labels: bool = False) -> list[str]:
    """The names (or matrix labels) of the pair's probes that failed, in PROBES order."""
    return [
        label if labels else name
        for key, name, label in PROBES
        if (not pair.get(key) if key in ALWAYS_SENT else pair.get(key) is False)
    ]


def engine_text(engine: Mapping[str, Any] | None) -> str:
    """``Docker 29.8.1/nftables`` from verify_node's ``engine``, ``Docker unknown`` without."""
    if not isinstance(engine, Mapping) or engine.get("version") in (None, "", "unknown"):
        return "Docker unknown"
    return f"Docker {engine['version']}/{engine.get('firewall_backend') or 'unknown'}"


def _ikey(obj: Any, name: str) -> Any:
    """flannel matches config keys case-insensitively."""
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            if str(key).lower() == name.lower():
                return value
    return None


def parse_subnet_env(text: str, source: str = "subnet file") -> dict[str, str]:
    """The shared parser's dict; a malformed file raises ValueError with its reason."""
    try:
        return flannel_docker_opts.parse_subnet_env(text, source)
    except flannel_docker_opts.DockerOptsError as exc:
        raise ValueError(str(exc)) from exc


def lease_name(subnet: str) -> str:
    """``10.244.5.1/24`` (FLANNEL_SUBNET) -> ``10.244.5.0-24`` (its key under subnets/)."""
    net = ipaddress.ip_interface(subnet).network
    return f"{net.network_address}-{net.prefixlen}"


def lease_net(name: str) -> str:
    return name.replace("-", "/")


def lease_backend(lease: Mapping[str, Any]) -> str:
    """The backend that wrote a lease; the udp backend writes no BackendType."""
    return str(lease.get("BackendType") or "udp").lower()


def config_backend(config: Any) -> str:
    backend = _ikey(config, "Backend")
    return "udp" if backend is None else str(_ikey(backend, "Type") or "none").lower()


def parse_etcd(stdout: str, prefix: str) -> tuple[Any, dict[str, Any]]:
    """``etcdctl get --prefix -w json`` -> (config or None, {lease name: lease})."""
    config, leases = None, {}
    for kv in json.loads(stdout or "{}").get("kvs") or []:
        key = base64.b64decode(kv["key"]).decode()
        value = base64.b64decode(kv.get("value", "")).decode()
        if key == f"{prefix}/config":
            config = json.loads(value)
        elif key.startswith(f"{prefix}/subnets/"):
            leases[key.rsplit("/", 1)[1]] = json.loads(value)
    return config, leases


def read_etcd(reads: Sequence[Result], prefix: str) -> dict[str, Any]:
    """The first usable read among the members tried (loop results, ``item`` = member)."""
    tried = []
    for result in reads:
        if not result or result.get("skipped"):
            continue
        host, stdout = result.get("item", "?"), _stdout(result)
        if stdout is None:
            tried.append(f"{host}: {_why(result)}")
            continue
        try:
            config, leases = parse_etcd(stdout, prefix)
        except (ValueError, KeyError, binascii.Error) as exc:
            tried.append(f"{host}: unreadable answer ({exc})")
            continue
        return {"ok": True, "via": host, "tried": tried, "config": config, "leases": leases}
    return {"ok": False, "via": None, "tried": tried, "config": None, "leases": {}}


def parse_docker0(stdout: str | None) -> tuple[str | None, int | None]:
    """``ip -j -4 addr show dev docker0`` -> (address/len, MTU)."""
    try:
        link = json.loads(stdout or "[]")[0]
    except (ValueError, IndexError, KeyError):
        return None, None
    addrs = [a for a in link.get("addr_info", []) if a.get("family", "inet") == "inet"]
    addr = f"{addrs[0]['local']}/{addrs[0]['prefixlen']}" if addrs else None
    return addr, link.get("mtu")


def parse_routes(stdout: str) -> dict[str, dict[str, Any]]:
    """``ip -j -4 route show`` -> {destination network: route}; the default is left out."""
    out = {}
    for route in json.loads(stdout or "[]"):
        if route.get("dst", "default") != "default":
            dst = str(ipaddress.ip_network(route["dst"], strict=False))
            out.setdefault(dst, dict(route, dst=dst))
    return out


def route_text(route: Mapping[str, Any] | None) -> str:
    if route is None:
        return "no route"
    via = ["via", route["gateway"]] if route.get("gateway") else []
    onlink = ["onlink"] if "onlink" in route.get("flags", []) else []
    return " ".join([route["dst"], *via, "dev", str(route.get("dev")), *onlink])


def probe_info(result: Result | None, subnet: Result | None = None) -> dict[str, Any]:
    """``docker inspect`` of the probe (and the slurped subnet file) -> what the probe needs:
    its address on the bridge, its PID and the overlay MTU."""
    content = (subnet or {}).get("content")
    try:
        env = parse_subnet_env(base64.b64decode(content).decode()) if content else {}
    except ValueError:
        env = {}  # the report names the malformed file; the probe just gets no MTU
    mtu = env.get("FLANNEL_MTU", "")
    info = {"ip": "", "pid": 0, "mtu": int(mtu) if str(mtu).isdigit() else 0}
    stdout = _stdout(result)
    if stdout is None:
        return info | {"error": f"probe container not running ({_why(result)})"}
    try:
        data = json.loads(stdout)[0]
        settings = data.get("NetworkSettings") or {}
        ips = [n.get("IPAddress") for n in (settings.get("Networks") or {}).values()]
        info["ip"] = next((i for i in ips if i), settings.get("IPAddress") or "")
        info["pid"] = int((data.get("State") or {}).get("Pid") or 0)
    except (ValueError, IndexError, AttributeError, TypeError) as exc:
        return info | {"error": f"unreadable docker inspect ({exc})"}
    complete = info["ip"] and info["pid"] and info["mtu"]
    return info | {"error": "" if complete else "probe has no address, PID or MTU"}
