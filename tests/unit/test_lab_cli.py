"""Unit tests of lab/cli.py: what `up` refuses, and `down` on nothing."""

import dataclasses
import ipaddress

import pytest

from lab import cli, config


def test_up_refuses_unknown_release_and_bad_count(cfg, monkeypatch):
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    with pytest.raises(config.LabError, match="not supported"):
        cli.up(cfg, 3, "sid", None)
    with pytest.raises(config.LabError, match="--hosts 0"):
        cli.up(cfg, 0, "trixie", None)


def test_down_on_nothing_is_clean(cfg, monkeypatch):
    # Own names and addresses (TEST-NET-1), so a real lab running beside the tests, and
    # the ssh connections to its hosts, are left alone.
    cfg = dataclasses.replace(
        cfg, bridge="flabut0", prefix="flabut", cidr=ipaddress.IPv4Network("192.0.2.0/24")
    )
    (cfg.state / "hosts" / "flabut1").mkdir(parents=True)
    monkeypatch.setattr(cli.os, "geteuid", lambda: 0)
    cli.down(cfg)
    assert cli.leftover_report(cfg) == []
    assert not cfg.state.exists()


@pytest.mark.parametrize("leftover", [False, True])
def test_up_fresh_takes_a_leftover_lab_down_first(cfg, monkeypatch, leftover):
    cfg = dataclasses.replace(cfg, bridge="flabut0", prefix="flabut")
    if leftover:  # what a killed run leaves: a host directory, no record
        (cfg.state / "hosts" / "flabut1").mkdir(parents=True)
    calls = []
    monkeypatch.setattr(cli.Config, "from_env", classmethod(lambda _c, *a: cfg))
    monkeypatch.setattr(cli, "lock_lab", lambda *a, **k: None)
    monkeypatch.setattr(cli, "down", lambda c: calls.append("down"))
    monkeypatch.setattr(cli, "up", lambda c, n, r, f: calls.append(f"up {n} {r}"))
    assert cli.main(["up", "--fresh", "--hosts", "2", "--release", "bookworm"]) == 0
    assert calls == (["down"] if leftover else []) + ["up 2 bookworm"]
    calls.clear()
    assert cli.main(["up", "--hosts", "2"]) == 0  # without --fresh a running lab is reused
    assert calls == ["up 2 trixie"]
