"""Unit tests of lab/cli.py: what `up` refuses, and `down` on nothing."""

import dataclasses

import pytest

from lab import cli, config


def test_up_refuses_unknown_release_and_bad_count(cfg, monkeypatch):
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    with pytest.raises(config.LabError, match="not supported"):
        cli.up(cfg, 3, "sid", None)
    with pytest.raises(config.LabError, match="--hosts 0"):
        cli.up(cfg, 0, "trixie", None)


def test_down_on_nothing_is_clean(cfg, monkeypatch):
    # Own names, so a real lab running beside the tests is left alone.
    cfg = dataclasses.replace(cfg, bridge="flabut0", prefix="flabut")
    (cfg.state / "hosts" / "flabut1").mkdir(parents=True)
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    cli.down(cfg)
    assert cli.leftover_report(cfg) == []
    assert not cfg.state.exists()
