"""The rules on what the roles install: the release versions as the roles expect them
written, and the controller files the install methods copy. Each ``check_*`` is one rule
of ``rules.RULES``; docs/preflight.md lists them with their messages.

Only values set in the inventory or on the command line are seen here (the roles'
defaults are not host variables on the controller); those defaults are valid.
"""

from __future__ import annotations

import os
import re

from .inventory import Facts
from .inventory_rules import find_controller_file
from .model import Report, describe_hosts, show

# flannel's release tags carry the v (v0.28.9); etcd_version goes into the release URL
# after a v of its own (v{{ etcd_version }}), so it is written without one (3.6.16).
VERSIONS = {
    "flannel_version": (re.compile(r"^v\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$"), "nodes", "v0.28.9"),
    "etcd_version": (re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$"), "etcd", "3.6.16"),
}
# Controller files the install methods copy to the hosts.
RELEASE_FILES = {"flannel_binary_src": "nodes", "etcd_archive_src": "etcd"}


def _hint(var: str, value: str, example: str) -> str:
    if var == "flannel_version" and re.match(r"^\d", value):
        return f"write the release tag with its v, e.g. v{value}"
    if var == "etcd_version" and value.startswith("v"):
        return f"write it without the v, e.g. {value[1:]}"
    return f"e.g. {example}"


def check_release_versions(facts: Facts, report: Report) -> None:
    """flannel_version and etcd_version are written as the roles expect (v0.28.9, 3.6.16)."""
    for var, (pattern, group, example) in VERSIONS.items():
        bad: dict[str, list[str]] = {}
        for name, hostvars in getattr(facts, group).items():
            value = hostvars.get(var)
            if value is None or (isinstance(value, str) and pattern.match(value)):
                continue
            bad.setdefault(str(value), []).append(name)
        for value, names in bad.items():
            report.error(
                f"{var}: {show(value)} on host(s) {describe_hosts(names)} is not a release "
                f"version as the role expects it: {_hint(var, value, example)}"
            )


def check_release_files(facts: Facts, report: Report) -> None:
    """flannel_binary_src and etcd_archive_src, when given, are files on the controller."""
    for var, group in RELEASE_FILES.items():
        uses: dict[str, list[str]] = {}
        for name, hostvars in getattr(facts, group).items():
            value = hostvars.get(var)
            if isinstance(value, str) and value:
                uses.setdefault(value, []).append(name)
        for path, names in uses.items():
            on = f" (host(s) {describe_hosts(names)})"
            found = find_controller_file(var, path, on, facts.search_dirs, report)
            if found is not None and not (os.path.isfile(found) and os.access(found, os.R_OK)):
                report.error(f"{var}: {found} is not a readable regular file{on}")
