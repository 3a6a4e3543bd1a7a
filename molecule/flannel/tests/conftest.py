"""Skips every test of a run whose backend the lab kernel cannot run.

kernel_gate.yml (in prepare and converge) probes the hosts' kernel with the
flannel role's own check and writes the reasons to kernel-skip.txt; an empty
file means the kernel has what the backend needs.
"""

import os
from pathlib import Path

import pytest

MARKER = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "kernel-skip.txt"


def skip_reason() -> str:
    try:
        return MARKER.read_text().strip()
    except FileNotFoundError:
        return ""


def pytest_report_header() -> str:
    reason = skip_reason()
    return f"SKIP (kernel): {reason}" if reason else "kernel: has what the backend needs"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    reason = skip_reason()
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))
