"""A node's lease as the day-2 plays read it, and the check after each batch of
flanneld restarts (site.yml with ``flannel_verify_each_batch``, as
``playbooks/upgrade.yml`` runs it). The subnet file is parsed by the toolkit's one
parser (module_utils/flannel_docker_opts.py, through flannel_verify_read).

``slurped | flannel_lease_subnet``
    FLANNEL_SUBNET of a slurped subnet file (``10.244.5.1/24``), "" when unreadable.
``subnet | flannel_lease_name``
    The lease's key under ``<prefix>/subnets/`` (``10.244.5.0-24``), "" for "".

``pairs_result | flannel_batch_verdict(subnet_before, subnet_after, host)``
    ``{ok, msg, subnet}``: the node kept the subnet it had before the restart (its
    lease), and its probe container reaches every other node's probe (DF ping that
    fills the MTU, TCP, and TCP to the published port via the host and via the
    container: the probes of the verify play). ``pairs_result`` is the registered
    ``overlay_check`` call (library/overlay_check.py); the subnets are registered
    slurps of the subnet file.

``groups['nodes'] | flannel_restart_serial(hostvars, batch, keys)``
    The ``serial`` of a restart play: ``batch`` when any of the hosts has a truthy
    value at one of ``keys`` (dotted paths into its host vars, e.g.
    ``__flannel_state.restart``), else the number of hosts, so that a run with
    nothing to restart goes through the play in one batch, not one per node.
``ansible_play_batch | flannel_batch_label(ansible_play_hosts_all, serial)``
    "batch 2/3: flab2": which batch of a serial play this is, and its hosts.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

try:
    from ..module_utils import flannel_verify_read as _read
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
    import flannel_verify_read as _read  # type: ignore[no-redef]


def _subnet(slurped: Mapping[str, Any] | None) -> str:
    """FLANNEL_SUBNET of a slurped subnet file, or "" when it could not be read."""
    if not slurped or slurped.get("failed") or "content" not in slurped:
        return ""
    try:
        text = base64.b64decode(slurped["content"]).decode()
        return _read.parse_subnet_env(text).get("FLANNEL_SUBNET", "")
    except (ValueError, UnicodeDecodeError):
        return ""


def flannel_lease_subnet(slurped: Mapping[str, Any] | None) -> str:
    return _subnet(slurped)


def flannel_lease_name(subnet: Any) -> str:
    return _read.lease_name(str(subnet)) if subnet else ""


def flannel_batch_verdict(
    pairs: Mapping[str, Any] | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
    host: str,
) -> dict[str, Any]:
    problems = []
    old, new = _subnet(before), _subnet(after)
    if not new:
        problems.append("no readable subnet file after the restart")
    elif old and new != old:
        problems.append(f"its subnet changed from {old} to {new}: the lease was lost")
    results = _read.probe_pairs(pairs)
    if results is None:
        problems.append(f"the probe did not run ({_read._why(pairs)})")
    else:
        for r in results:
            failed = _read.failed_probes(r)
            if failed:
                problems.append(
                    f"-> {r.get('target')}: {' and '.join(failed)} failed ({r.get('error', '')})"
                )
    reached = sum(1 for r in results or [] if not _read.failed_probes(r))
    if problems:
        msg = f"flanneld batch check on {host}: " + "; ".join(problems)
    else:
        msg = f"flanneld batch check on {host}: kept {new}, reaches {reached} other node(s)"
    return {"ok": not problems, "msg": msg, "subnet": new}


def _at(values: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(values, Mapping) or part not in values:
            return None
        values = values[part]
    if isinstance(values, str):
        return values.strip().lower() in ("true", "yes", "on", "1")
    return values


def flannel_restart_serial(
    hosts: Any, hostvars: Mapping[str, Any] | None, batch: Any, keys: Any
) -> Any:
    names = [str(h) for h in hosts or []]
    paths = [keys] if isinstance(keys, str) else list(keys or [])
    for name in names:
        seen = (hostvars or {}).get(name) or {}
        if any(_at(seen, path) for path in paths):
            return batch
    return max(len(names), 1)


def _batch_size(serial: Any, total: int) -> int:
    """Ansible's batch size for one ``serial`` value: a number, or a percentage of the
    play's hosts (at least 1)."""
    text = str(serial).strip()
    if text.endswith("%"):
        return max(1, int(total * float(text[:-1]) / 100))
    return max(1, int(text))


def flannel_batch_label(batch: Any, hosts_all: Any, serial: Any) -> str:
    names, batch = [str(h) for h in hosts_all or []], [str(h) for h in batch or []]
    if not names or not batch or batch[0] not in names:
        return f"batch: {', '.join(batch) or 'no host'}"
    # a no-op run goes through the play in one batch of every host (restart_serial)
    size = len(names) if len(batch) == len(names) else _batch_size(serial, len(names))
    total = -(-len(names) // size)
    return f"batch {names.index(batch[0]) // size + 1}/{total}: {', '.join(batch)}"


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "flannel_batch_verdict": flannel_batch_verdict,
            "flannel_lease_subnet": flannel_lease_subnet,
            "flannel_lease_name": flannel_lease_name,
            "flannel_restart_serial": flannel_restart_serial,
            "flannel_batch_label": flannel_batch_label,
        }
