"""The host-side preflight: is this host a platform the suite runs, and can its settings work?

playbooks/platforms.yml calls flannel_platform_check on every host with its gathered
facts, before any role changes anything. It returns warnings (an untested platform:
the run goes on) and errors (settings that cannot work on this host: the run stops
before any host is changed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# What `make test` runs, and so what meta/main.yml claims: distribution -> releases.
TESTED = {"Debian": ("bookworm", "trixie")}


def tested_text() -> str:
    return "; ".join(f"{dist} {', '.join(rels)}" for dist, rels in TESTED.items())


def flannel_platform_check(facts: Mapping[str, Any], settings: Mapping[str, Any]) -> dict:
    """{'warnings': [...], 'errors': [...], 'platform': 'Debian trixie'} for one host.

    facts: the host's ansible_facts (distribution, distribution_release, os_family,
    pkg_mgr). settings: the host's docker_install_method, if set.
    """
    dist = str(facts.get("distribution") or "unknown")
    release = str(facts.get("distribution_release") or "unknown")
    family = str(facts.get("os_family") or "unknown")
    pkg_mgr = str(facts.get("pkg_mgr") or "unknown")
    warnings: list[str] = []
    errors: list[str] = []
    if release not in TESTED.get(dist, ()):
        warnings.append(
            f"{dist} {release} ({family} family) is not a tested platform (tested: "
            f"{tested_text()}). The roles may work here, but the suite has never run them here."
        )
    method = str(settings.get("docker_install_method") or "package")
    if method == "repo" and pkg_mgr != "apt":
        errors.append(
            f"docker_install_method: repo uses Docker's apt repository, and this host's "
            f"package manager is {pkg_mgr}. Use docker_install_method: package."
        )
    return {"platform": f"{dist} {release}", "warnings": warnings, "errors": errors}


class FilterModule:
    """Host platform filters."""

    def filters(self) -> dict[str, Any]:
        return {"flannel_platform_check": flannel_platform_check}
