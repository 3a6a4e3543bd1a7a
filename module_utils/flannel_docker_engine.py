"""What each Docker engine needs so that the flannel network reaches its containers.

One decision, made here and nowhere else (the docker role calls it through the
`docker_engine_plan` filter; tests/unit/test_docker_engine.py). Measured on the lab
(trixie, vxlan) with Debian's docker.io 26.1.5, sid's docker.io 28.5.2 and Docker
29.8.1 built from moby's module:

- Docker before 28 lets traffic from the flannel network through to docker0:
  flanneld's own FORWARD rules (FLANNEL-FWD) accept it. Nothing is added.
- Docker 28 and 29 block direct-routed traffic to containers twice: a per-container
  drop in the raw table (`-d <container> ! -i docker0 -j DROP`, which also drops the
  replies to a container's own outgoing traffic), and, for ports that are not
  published, a drop in the forward path (iptables chain DOCKER: `! -i docker0 -o
  docker0 -j DROP`; nftables: "UNPUBLISHED PORT DROP"). Every pair to or from such a
  node fails.
  - `--allow-direct-routing` (28.2 and later) removes the raw drops. 28.0 and 28.1
    lack it and are refused.
  - iptables backend: one ACCEPT in DOCKER-USER, the chain Docker evaluates first
    and keeps for its users, for packets from the flannel network to docker0.
  - nftables backend (29): an accept in another table is not final there, but Docker
    accepts packets that carry the mark given by `--bridge-accept-fwmark`; a table of
    our own marks packets from the flannel network to docker0 in the forward hook,
    before Docker's chain.
  Both rules are applied by a small unit (flannel-docker-firewall.service), part of
  docker.service, so that they come back after every dockerd restart and boot
  without an Ansible run; applying them again never stops a container.
"""

from __future__ import annotations

import ipaddress
import re

BACKENDS = ("iptables", "nftables")
# Docker 28.0 started to drop direct-routed traffic; 28.2 added --allow-direct-routing.
DIRECT_ROUTING_BLOCKED = (28, 0)
ALLOW_DIRECT_ROUTING = (28, 2)
# The first engine with the nftables firewall backend.
NFTABLES_FIRST = (29, 0)
# The mark that Docker's nftables rules accept (--bridge-accept-fwmark) and our
# prerouting rule sets; one bit, left of the bits Docker and flannel use.
ACCEPT_FWMARK = "0x4000000"
ACCEPT_FWMARK_FLAG = f"{ACCEPT_FWMARK}/{ACCEPT_FWMARK}"
# Our own nftables table; the role never touches any other.
NFT_TABLE = "flannel-docker"
# Marks the iptables rule as ours (reset.yml and the unit's stop remove exactly it).
COMMENT = "flannel-ansible: flannel network to containers"

_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?")


def engine_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of `dockerd --version` output or of a bare version, else None.

    "Docker version 28.5.2+dfsg4, build ..." and "29.8.1" both parse; Debian's
    "+dfsg" and a pre-release suffix are ignored.
    """
    text = (text or "").strip()
    if text.startswith("Docker version "):
        text = text[len("Docker version ") :]
    match = _VERSION.match(text)
    if not match:
        return None
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def iptables_rule(network: str, bridge: str = "docker0") -> list[str]:
    """The DOCKER-USER rule's match and target (after `-C/-I/-D DOCKER-USER`)."""
    return ["-s", network, "-o", bridge, "-m", "comment", "--comment", COMMENT, "-j", "ACCEPT"]


def nft_ruleset(network: str, bridge: str = "docker0") -> str:
    """Our nftables table, as one `nft` command line: mark packets from the flannel
    network that go to the bridge, in the forward hook before Docker's chain. It
    declares, flushes and refills only its own table, so it can be applied any number
    of times."""
    return (
        f"add table ip {NFT_TABLE}; flush table ip {NFT_TABLE}; "
        f"add chain ip {NFT_TABLE} forward {{ type filter hook forward priority filter - 10; "
        f"policy accept; }}; add rule ip {NFT_TABLE} forward ip saddr {network} "
        f'oifname "{bridge}" meta mark set meta mark or {ACCEPT_FWMARK}'
    )


def engine_problem(version: tuple[int, int, int], backend: str) -> str | None:
    """Why Docker ``version`` with firewall ``backend`` cannot carry the overlay, or None.

    The one rule for both places that refuse an engine: the docker role, on the
    version the host runs, and the controller's preflight, on a pinned
    ``docker_version``, before any host is touched.
    """
    shown = ".".join(map(str, version))
    if backend == "nftables" and version < NFTABLES_FIRST:
        return (
            f"docker_firewall_backend: nftables needs Docker 29 or later, and the engine is "
            f"Docker {shown}; use iptables, or install a newer engine (docker_version)"
        )
    if DIRECT_ROUTING_BLOCKED <= version < ALLOW_DIRECT_ROUTING:
        return (
            f"Docker {shown} drops routed traffic to its containers and has no "
            "--allow-direct-routing (28.2 added it), so the overlay cannot reach them: "
            "install 28.2 or later (docker_version), or an engine before 28"
        )
    return None


def engine_plan(version_text: str, backend: str, network: str) -> dict:
    """What Docker `version_text` with `backend` needs for the flannel `network`.

    Returns {version, backend, flags, iptables, nft, why}: the dockerd flags the
    drop-in adds, the DOCKER-USER rule (or null), the nftables ruleset (or ""), and
    one sentence of why, for the run's output and the docs. Raises ValueError with
    a message that names the setting and the fix.
    """
    if backend not in BACKENDS:
        raise ValueError(
            f"docker_firewall_backend: {backend!r} is not one of {', '.join(BACKENDS)}"
        )
    try:
        net = str(ipaddress.IPv4Network(network, strict=True))
    except ValueError as exc:
        raise ValueError(
            f"docker_flannel_network: {network!r} is not an IPv4 network ({exc})"
        ) from exc
    version = engine_version(version_text)
    if version is None:
        raise ValueError(
            f"the Docker engine's version could not be read ({version_text!r}): "
            "is dockerd installed (docker_install_method)?"
        )
    shown = ".".join(map(str, version))
    plan = {"version": shown, "backend": backend, "network": net, "flags": [],
            "iptables": None, "nft": ""}  # fmt: skip
    problem = engine_problem(version, backend)
    if problem:
        raise ValueError(problem)
    if backend == "iptables" and version < DIRECT_ROUTING_BLOCKED:
        plan["why"] = f"Docker {shown} lets {net} reach docker0 through flanneld's own rules"
        return plan
    plan["flags"] = ["--allow-direct-routing"]
    if backend == "nftables":
        plan["flags"] = [
            "--firewall-backend=nftables",
            *plan["flags"],
            f"--bridge-accept-fwmark={ACCEPT_FWMARK_FLAG}",
        ]
        plan["nft"] = nft_ruleset(net)
        plan["why"] = (
            f"Docker {shown} (nftables) drops routed traffic to its containers: "
            f"--allow-direct-routing, and table ip {NFT_TABLE} marks {net} to docker0 "
            f"with {ACCEPT_FWMARK}, which Docker accepts"
        )
    else:
        plan["iptables"] = iptables_rule(net)
        plan["why"] = (
            f"Docker {shown} (iptables) drops routed traffic to its containers: "
            f"--allow-direct-routing, and DOCKER-USER accepts {net} to docker0"
        )
    return plan


IPTABLES = "/usr/sbin/iptables"
NFT = "/usr/sbin/nft"
UNIT_NAME = "flannel-docker-firewall.service"


def _rule_text(rule: list[str]) -> str:
    return " ".join(f'"{w}"' if " " in w else w for w in rule)


def firewall_unit(plan: dict) -> str:
    """The unit that applies the plan's rule (empty when the plan has none).

    Part of docker.service: started after it, restarted with it, started at boot
    with it. Its start adds the rule only where it is missing (and removes the other
    backend's, after a switch); its stop removes both.
    """
    if not (plan.get("iptables") or plan.get("nft")):
        return ""
    rule = _rule_text(plan["iptables"] or iptables_rule(plan["network"]))
    drop_rule = f"/bin/sh -c 'while {IPTABLES} -w -D DOCKER-USER {rule} 2>/dev/null; do :; done'"
    # a host without nft has no table of ours either
    drop_table = (
        f"/bin/sh -c '[ -x {NFT} ] || exit 0; {NFT} delete table ip {NFT_TABLE} 2>/dev/null; true'"
    )
    if plan["iptables"]:
        pre = f"ExecStartPre={drop_table}"  # after a switch from nftables
        start = (
            f"/bin/sh -c '{IPTABLES} -w -N DOCKER-USER 2>/dev/null; "
            f"{IPTABLES} -w -C DOCKER-USER {rule} 2>/dev/null || "
            f"{IPTABLES} -w -I DOCKER-USER 1 {rule}'"
        )
    else:
        pre = f"ExecStartPre=-{drop_rule}"  # after a switch from iptables
        start = f"{NFT} '{plan['nft']}'"
    return (
        "# Managed by flannel-ansible (roles/docker, module_utils/flannel_docker_engine.py).\n"
        "# Docker 28.2 and later drop routed traffic to their containers: this rule lets\n"
        "# the flannel network through. Part of docker.service: applied after every start.\n"
        "[Unit]\n"
        "Description=flannel-ansible: let the flannel network reach Docker's containers\n"
        "After=docker.service\n"
        "PartOf=docker.service\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        "RemainAfterExit=yes\n"
        f"{pre}\n"
        f"ExecStart={start}\n"
        f"ExecStop=-{drop_rule}\n"
        f"ExecStop={drop_table}\n\n"
        "[Install]\n"
        "WantedBy=docker.service\n"
    )


def firewall_check(plan: dict) -> list[str] | None:
    """The command that exits 0 when the plan's rule is in place (None: nothing to check)."""
    if plan.get("iptables"):
        return [IPTABLES, "-w", "-C", "DOCKER-USER", *plan["iptables"]]
    if plan.get("nft"):
        return [NFT, "list", "chain", "ip", NFT_TABLE, "forward"]
    return None
