"""Unit tests of lab/hosts.py: the per-host files, the nspawn command line, and the
host key check of wait_ssh."""

import os
import subprocess
import time

import pytest

from lab import hosts
from lab.config import LabError


def test_host_files(cfg):
    cfg.key.parent.mkdir(parents=True)
    cfg.key.with_suffix(".pub").write_text("ssh-ed25519 AAAA lab\n")
    files = hosts.host_files(cfg, "bookworm", 2, 3)
    assert files["etc/hostname"][0] == "flab2\n"
    assert "10.77.0.13 flab3" in files["etc/hosts"][0]
    sources, _ = files["etc/apt/sources.list"]
    assert sources == "deb [trusted=yes] http://10.77.0.1:8089/bookworm ./\n"
    unit, _ = files["etc/systemd/system/flab-net.service"]
    assert "ip addr replace 10.77.0.12/24 dev host0" in unit
    assert files["root/.ssh/authorized_keys"] == ("ssh-ed25519 AAAA lab\n", 0o600)


def test_nspawn_argv_has_what_docker_and_udp_need(cfg):
    argv = hosts.nspawn_argv(cfg, "flab1")
    assert argv[0] == "systemd-nspawn"
    for flag in (
        "--boot",
        "--register=no",
        "--keep-unit",
        "--capability=all",
        "--network-bridge=flab0",
        "--bind=/dev/net/tun",
    ):
        assert flag in argv
    assert "--system-call-filter=@keyring bpf" in argv
    assert any(a.endswith(":/var/lib/docker") for a in argv)


def test_wait_ssh_refuses_a_machine_without_the_new_host_key(cfg, monkeypatch):
    """The host must answer with the key its overlay got: a leftover machine at the
    same address fails `up` with a clear message instead of being handed to a run."""
    hdir = cfg.host_dir("flab1")
    (hdir / "root/etc/ssh").mkdir(parents=True)
    (hdir / "root/etc/ssh/ssh_host_ed25519_key.pub").write_text("ssh-ed25519 AAAANEW flab1\n")
    (hdir / "supervisor.pid").write_text(f"{os.getpid()}\n")

    class Banner:
        def __enter__(self):
            return self

        def __exit__(self, *a):
            return False

        def settimeout(self, _t):
            pass

        def recv(self, _n):
            return b"SSH-2.0-OpenSSH\r\n"

    argvs = []

    def fake_run(argv, **_kw):
        argvs.append(argv)
        return subprocess.CompletedProcess(argv, 255, b"", b"Host key verification failed.\r\n")

    monkeypatch.setattr(hosts.socket, "create_connection", lambda *a, **k: Banner())
    monkeypatch.setattr(hosts.subprocess, "run", fake_run)
    monkeypatch.setattr(hosts.time, "sleep", lambda _s: None)
    with pytest.raises(LabError, match="a machine other than the new flab1 answers at 10.77.0.11"):
        hosts.wait_ssh(cfg, 1, time.monotonic() + 0.05)
    assert (hdir / "known_hosts").read_text() == "10.77.0.11 ssh-ed25519 AAAANEW\n"
    assert "StrictHostKeyChecking=yes" in argvs[0]
    assert f"UserKnownHostsFile={hdir / 'known_hosts'}" in argvs[0]
