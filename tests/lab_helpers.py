"""What the molecule scenarios' testinfra tests (and the preflight unit tests) share:
where the flannel files are on a lab host, its subnet.env parsed by the toolkit's own
parser (module_utils), and the shared defaults of roles/flannel_common.

The paths are the host's inventory settings (flannel_subnet_file,
flannel_docker_opts_file) where the scenario sets them, else the shared defaults of
roles/flannel_common, so a scenario that moves the files tests the moved files.
Import as ``from tests.lab_helpers import subnet_env`` (pyproject.toml puts the
repository root on the path).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

from module_utils.flannel_docker_opts import parse_subnet_env

ROOT = Path(__file__).resolve().parents[1]


@cache
def shared_defaults() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "roles/flannel_common/defaults/main.yml").read_text())


def setting(host, name: str) -> Any:
    """The host's inventory value of a shared setting, else the shared default."""
    return host.ansible.get_variables().get(name, shared_defaults()[name])


def subnet_file(host) -> str:
    return str(setting(host, "flannel_subnet_file"))


def docker_opts_file(host) -> str:
    return str(setting(host, "flannel_docker_opts_file"))


def subnet_env(host) -> dict[str, str]:
    """The host's lease file as a dict (FLANNEL_SUBNET, FLANNEL_MTU, ...)."""
    path = subnet_file(host)
    return parse_subnet_env(host.file(path).content_string, path)
