"""The etcd role's cluster on 3 lab hosts: healthy, one cluster, TLS enforced, flannel
config seeded, and (from the side_effect's evidence) it kept serving through member
restarts, a rolling restart and the replacement of a member that lost its data."""

import json
import os
import ssl
from pathlib import Path

import pytest
import yaml

MEMBERS = ("flab1", "flab2", "flab3")
PKI = "/etc/etcd/pki"
CTL = (
    f"ETCDCTL_API=3 ETCDCTL_CACERT={PKI}/ca.crt ETCDCTL_CERT={PKI}/etcdctl.crt "
    f"ETCDCTL_KEY={PKI}/etcdctl.key etcdctl --dial-timeout=3s --command-timeout=10s"
)
FLANNEL_CONFIG = {"Network": "10.244.0.0/16", "SubnetLen": 24, "Backend": {"Type": "vxlan"}}
EPHEMERAL = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def lab_addresses() -> dict[str, str]:
    with open(os.environ["MOLECULE_INVENTORY_FILE"]) as fh:
        inventory = yaml.safe_load(fh)
    hosts = inventory["all"]["hosts"]
    return {name: vars_["ansible_host"] for name, vars_ in hosts.items()}


def me(host) -> str:
    return host.backend.get_hostname()


def ctl(host, args: str, endpoint: str = "https://127.0.0.1:2379"):
    return host.run(f"{CTL} --endpoints={endpoint} {args}")


@pytest.fixture(scope="module")
def evidence() -> dict:
    path = EPHEMERAL / "etcd-evidence.json"
    assert path.exists(), f"{path} is missing: the side_effect playbook must run before verify"
    return json.loads(path.read_text())


# --------------------------------------------------------------------------- cluster


def test_every_member_healthy_in_one_cluster(host):
    health = ctl(host, "endpoint health --cluster -w json")
    assert health.rc == 0, health.stderr
    report = json.loads(health.stdout)
    assert len(report) == len(MEMBERS)
    assert all(entry["health"] for entry in report), report
    status = ctl(host, "endpoint status --cluster -w json")
    assert status.rc == 0, status.stderr
    entries = json.loads(status.stdout)
    cluster_ids = {entry["Status"]["header"]["cluster_id"] for entry in entries}
    assert len(entries) == len(MEMBERS)
    assert len(cluster_ids) == 1, entries
    leaders = {entry["Status"]["leader"] for entry in entries}
    assert len(leaders) == 1, "members disagree on the leader"


def test_members_are_the_inventory_hosts_on_their_addresses(host):
    listing = ctl(host, "member list -w json")
    assert listing.rc == 0, listing.stderr
    members = json.loads(listing.stdout)["members"]
    addresses = lab_addresses()
    got = {m["name"]: (m["peerURLs"], m["clientURLs"]) for m in members}
    assert got == {
        name: ([f"https://{addresses[name]}:2380"], [f"https://{addresses[name]}:2379"])
        for name in MEMBERS
    }


def test_key_written_here_is_read_through_every_other_member(host):
    name = me(host)
    key, value = f"/molecule/verify/{name}", f"written-through-{name}-{os.getpid()}"
    put = ctl(host, f"put {key} {value}")
    assert put.rc == 0, put.stderr
    for other, address in lab_addresses().items():
        if other == name:
            continue
        got = ctl(host, f"get {key} --print-value-only", endpoint=f"https://{address}:2379")
        assert got.rc == 0, got.stderr
        assert got.stdout.strip() == value, f"read through {other}"


def test_flannel_config_holds_exactly_the_expected_json(host):
    got = ctl(host, "get /coreos.com/network/config --print-value-only")
    assert got.rc == 0, got.stderr
    assert json.loads(got.stdout) == FLANNEL_CONFIG
    keys = ctl(host, "get /coreos.com/network/ --prefix --keys-only")
    assert [k for k in keys.stdout.split() if k] == ["/coreos.com/network/config"]


# --------------------------------------------------------------------------- TLS


def test_client_without_certificate_is_refused(host):
    anonymous = host.run(
        f"ETCDCTL_API=3 etcdctl --cacert={PKI}/ca.crt --endpoints=https://127.0.0.1:2379 "
        "--dial-timeout=3s --command-timeout=5s get /coreos.com/network/config"
    )
    assert anonymous.rc != 0
    assert "/coreos.com/network/config" not in anonymous.stdout
    plain = host.run(
        "ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --dial-timeout=3s "
        "--command-timeout=5s get /coreos.com/network/config"
    )
    assert plain.rc != 0
    # The same request with the client certificate works, so the refusal is the cert.
    assert ctl(host, "get /coreos.com/network/config").rc == 0


HTTPS_GET = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="{pki}/ca.crt")
if sys.argv[2] == "with-cert":
    ctx.load_cert_chain("{pki}/etcdctl.crt", "{pki}/etcdctl.key")
try:
    print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=5).status)
except Exception as exc:
    print("refused", type(exc).__name__, exc)
"""


@pytest.mark.parametrize("port,path", [(2379, "/version"), (2380, "/version")])
def test_both_ports_require_a_client_certificate(host, port, path):
    address = lab_addresses()[me(host)]
    script = HTTPS_GET.format(pki=PKI)
    url = f"https://{address}:{port}{path}"
    without = host.run("python3 -c %s %s without-cert", script, url)
    with_cert = host.run("python3 -c %s %s with-cert", script, url)
    assert with_cert.stdout.strip() == "200", with_cert.stdout + with_cert.stderr
    assert without.stdout.startswith("refused"), without.stdout + without.stderr


PEER_NAMES = """
import json, socket, ssl, sys
ctx = ssl.create_default_context(cafile="{pki}/ca.crt")
ctx.load_cert_chain("{pki}/etcdctl.crt", "{pki}/etcdctl.key")
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname=sys.argv[1]) as tls:
        print(json.dumps(tls.getpeercert()["subjectAltName"]))
"""


@pytest.mark.parametrize("port", [2379, 2380])
def test_certificates_verify_for_the_member_address(host, port):
    # Hostname checking is on: the handshake itself proves the address is a SAN.
    address = lab_addresses()[me(host)]
    out = host.run("python3 -c %s %s %s", PEER_NAMES.format(pki=PKI), address, str(port))
    assert out.rc == 0, out.stderr
    sans = {tuple(entry) for entry in json.loads(out.stdout)}
    assert ("IP Address", address) in sans
    assert ("IP Address", "127.0.0.1") in sans
    assert ("DNS", me(host)) in sans


def test_private_keys_are_0600_and_owned_right(host):
    for name, owner in (
        ("server.key", "etcd"),
        ("peer.key", "etcd"),
        ("etcdctl.key", "root"),
    ):
        key = host.file(f"{PKI}/{name}")
        assert key.exists, name
        assert key.mode == 0o600, f"{name}: {oct(key.mode)}"
        assert key.user == owner, name
    assert host.file(PKI).mode == 0o750


def test_controller_pki_has_one_flanneld_pair_per_node_and_private_keys():
    pki = Path(os.environ.get("FLAB_STATE", "/var/lib/flannel-lab")) / "etcd-pki"
    for name in ["ca.crt", "client-ca.crt"] + [f"flanneld-{m}.crt" for m in MEMBERS]:
        assert (pki / name).is_file(), name
    assert not (pki / "flanneld.key").exists(), "no shared flanneld key any more"
    keys = sorted(pki.glob("*.key"))
    assert {k.name for k in keys} >= {"ca.key", "client-ca.key", "etcdctl.key"} | {
        f"flanneld-{m}.key" for m in MEMBERS
    }
    for key in keys:
        assert key.stat().st_mode & 0o777 == 0o600, key
    assert pki.stat().st_mode & 0o777 == 0o700
    ctx = ssl.create_default_context(cafile=str(pki / "client-ca.crt"))
    for name in MEMBERS:
        ctx.load_cert_chain(str(pki / f"flanneld-{name}.crt"), str(pki / f"flanneld-{name}.key"))


# --------------------------------------------------------------------------- auth

FLANNEL = "/root/flanneld-cert"
FLANNEL_CTL = (
    f"ETCDCTL_API=3 ETCDCTL_CACERT={FLANNEL}/ca.crt ETCDCTL_CERT={FLANNEL}/client.crt "
    f"ETCDCTL_KEY={FLANNEL}/client.key etcdctl --dial-timeout=3s --command-timeout=10s "
    "--endpoints=https://127.0.0.1:2379"
)


def test_auth_is_on_with_the_expected_users_and_role(host):
    status = ctl(host, "auth status -w json")
    assert status.rc == 0, status.stderr
    assert json.loads(status.stdout).get("enabled") is True
    users = set(ctl(host, "user list").stdout.split())
    assert users == {"root", "etcdctl"} | {f"flanneld-{m}" for m in MEMBERS}
    for name in MEMBERS:
        got = json.loads(ctl(host, f"user get flanneld-{name} -w json").stdout)
        assert got["roles"] == ["flannel"]
    assert json.loads(ctl(host, "user get etcdctl -w json").stdout)["roles"] == ["root"]
    role = ctl(host, "role get flannel")
    assert role.rc == 0, role.stderr
    assert "[/coreos.com/network/, /coreos.com/network0) (prefix /coreos.com/network/)" in (
        role.stdout
    )
    assert role.stdout.count("prefix") == 2, role.stdout  # read and write, nothing else


def test_node_certificate_reads_and_writes_only_under_the_prefix(host):
    me_ = me(host)
    config = host.run(f"{FLANNEL_CTL} get /coreos.com/network/config --print-value-only")
    assert config.rc == 0, config.stderr
    assert json.loads(config.stdout) == FLANNEL_CONFIG
    outside = host.run(f"{FLANNEL_CTL} put /other x")
    assert outside.rc != 0
    assert "permission denied" in outside.stderr
    assert host.run(f"{FLANNEL_CTL} get /molecule/keep/1").rc != 0
    # A lease and a key under the prefix, as flanneld makes them.
    lease = host.run(f"{FLANNEL_CTL} lease grant 60")
    assert lease.rc == 0, lease.stderr
    lease_id = lease.stdout.split()[1]
    key = f"/coreos.com/network/molecule-{me_}"
    try:
        put = host.run(f"{FLANNEL_CTL} put {key} lease-test --lease={lease_id}")
        assert put.rc == 0, put.stderr
        assert host.run(f"{FLANNEL_CTL} lease keep-alive --once {lease_id}").rc == 0
    finally:
        host.run(f"{FLANNEL_CTL} lease revoke {lease_id}")
    assert ctl(host, f"get {key} --print-value-only").stdout.strip() == ""


NODE_CERT_GET = """
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile="{d}/ca.crt")
ctx.load_cert_chain("{d}/client.crt", "{d}/client.key")
try:
    print(urllib.request.urlopen(sys.argv[1], context=ctx, timeout=5).status)
except Exception as exc:
    print("refused", type(exc).__name__, exc)
"""


def test_node_certificate_is_refused_on_the_peer_port(host):
    address = lab_addresses()[me(host)]
    script = NODE_CERT_GET.format(d=FLANNEL)
    peer = host.run("python3 -c %s %s", script, f"https://{address}:2380/version")
    assert peer.stdout.startswith("refused"), peer.stdout + peer.stderr
    client = host.run("python3 -c %s %s", script, f"https://{address}:2379/version")
    assert client.stdout.strip() == "200", client.stdout + client.stderr


# --------------------------------------------------------------------------- host layout


def test_runs_our_unit_and_config_file(host):
    assert host.service("etcd").is_running
    assert host.service("etcd").is_enabled
    unit = host.check_output("systemctl show etcd -p FragmentPath --value")
    assert unit == "/etc/systemd/system/etcd.service"
    pid = host.check_output("systemctl show etcd -p MainPID --value")
    cmdline = host.file(f"/proc/{pid}/cmdline").content.split(b"\0")
    assert b"--config-file" in cmdline and b"/etc/etcd/etcd.conf.yml" in cmdline
    config = yaml.safe_load(host.file("/etc/etcd/etcd.conf.yml").content_string)
    assert config["name"] == me(host)
    assert config["data-dir"] == "/var/lib/etcd/cluster"
    assert config["client-transport-security"]["client-cert-auth"] is True
    assert config["peer-transport-security"]["client-cert-auth"] is True
    # The flannel nodes' CA is trusted on the client port only.
    assert config["client-transport-security"]["trusted-ca-file"] == f"{PKI}/client-ca-bundle.crt"
    assert config["peer-transport-security"]["trusted-ca-file"] == f"{PKI}/ca.crt"
    assert config["enable-v2"] is False


def test_no_foreign_package_default_cluster(host):
    # Debian's package would have started etcd at install with its data here.
    assert not host.file("/var/lib/etcd/default").exists
    assert host.file("/var/lib/etcd/cluster/member").is_directory
    assert host.file("/var/lib/etcd/cluster").mode == 0o700


# --------------------------------------------------------------------------- side_effect evidence


def test_cluster_served_reads_and_writes_throughout(evidence):
    probe = evidence["probe"]
    assert probe["fail"] == 0, evidence["probe_log"]
    assert probe["ok"] >= 50
    # A retried round worked on its second, immediate try (etcd-probe.sh).
    assert probe["retried"] <= 3, evidence["probe_log"]


def test_writes_worked_while_a_member_was_down(evidence):
    for name in ("flab2", "flab3"):
        assert evidence["members"][name]["while_down_read"] == "yes"
    assert evidence["members"]["flab1"]["while_down_keys"] == 2


def test_rolling_restart_one_member_at_a_time_with_snapshots(evidence):
    members = evidence["members"]
    starts = []
    for name in MEMBERS:
        before, after = members[name]["before"], members[name]["after"]
        assert after["start"] > before["start"], f"{name} was not restarted"
        assert after["pid"] != before["pid"], name
        new = set(after["snapshots"]) - set(before["snapshots"])
        assert len(new) == 1, (
            f"{name}: snapshots before {before['snapshots']}, after {after['snapshots']}"
        )
        assert f"/etcd-{name}-" in new.pop()
        starts.append((after["start"], after["ready"], name))
    starts.sort()
    assert [name for _, _, name in starts] == list(MEMBERS), "not in play order"
    for (_, ready, first), (start, _, second) in zip(starts, starts[1:], strict=False):
        assert start > ready, f"{second} restarted before {first} was back"


def test_no_key_lost_and_cluster_id_kept(evidence):
    ids = set()
    for name in MEMBERS:
        member = evidence["members"][name]
        assert member["keep_count_after"] == 100, name
        ids.update({member["cluster_id_before"], member["cluster_id_after"]})
    assert len(ids) == 1, "the cluster ID changed"


def test_member_without_data_was_refused_then_joined_anew(evidence):
    assert evidence["refusal"]["refused"] is True
    assert "member remove" in evidence["refusal"]["msg"]
    # Refused by the check before any change, not after a health gate ran out.
    assert float(evidence["refusal"]["seconds"]) < 120, evidence["refusal"]
    assert "health" not in evidence["refusal"]["task"], evidence["refusal"]
    members = evidence["members"]
    assert members["flab3"]["bootstrap"]["initial-cluster-state"] == "existing"
    for name in ("flab1", "flab2"):
        assert members[name]["bootstrap"]["initial-cluster-state"] == "new"
    listing = members["flab1"]["member_list_after"]
    assert sorted(m["name"] for m in listing) == list(MEMBERS)
    assert all(m.get("clientURLs") for m in listing), "a member is not started"


def test_settings_from_the_rerun_are_live(host):
    config = yaml.safe_load(host.file("/etc/etcd/etcd.conf.yml").content_string)
    assert (config["heartbeat-interval"], config["election-timeout"]) == (150, 1500)
    started = int(
        host.check_output("systemctl show etcd -p ExecMainStartTimestamp --timestamp=unix --value")
        .strip()
        .lstrip("@")
    )
    changed = int(host.check_output("stat -c %Y /etc/etcd/etcd.conf.yml"))
    assert started >= changed, "etcd runs an older configuration than the file"


def test_lost_quorum_stopped_the_run_fast_and_named_it():
    path = EPHEMERAL / "etcd-fastfail.json"
    assert path.exists(), f"{path} is missing: side_effect (fast_fail.yml) must run before verify"
    quorum = json.loads(path.read_text())["quorum"]
    assert quorum["refused"] is True
    assert "1 of 3 members reachable: flab1" in quorum["msg"]
    assert "quorum lost" in quorum["msg"]
    assert float(quorum["check_seconds"]) < 60, quorum
    assert quorum["pid_before"] == quorum["pid_after"], "the run restarted flab1"
