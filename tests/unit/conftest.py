"""Fixtures shared by the unit tests: `cfg`, a lab Config that lives under tmp_path."""

from pathlib import Path

import pytest

from lab.config import Config


@pytest.fixture
def cfg(tmp_path: Path) -> Config:
    return Config.from_env(
        {
            "FLAB_STATE": str(tmp_path / "state"),
            "FLAB_CACHE": str(tmp_path / "cache"),
            "FLAB_INVENTORY": str(tmp_path / "hosts.yml"),
        }
    )
