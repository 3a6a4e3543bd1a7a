"""Unit tests of lab/hosts.py: the per-host files and the nspawn command line."""

from lab import hosts


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
