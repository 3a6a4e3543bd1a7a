"""Unit tests for module_utils/flannel_pki.py and library/etcd_pki.py (the etcd PKI)."""

import datetime
import os
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
from ansible.module_utils import flannel_pki as pki  # noqa: E402

mod = load("etcd_pki", "library/etcd_pki.py")

SERVER = {
    "name": "n1-server",
    "common_name": "n1",
    "sans": ["IP:10.0.0.1", "DNS:n1"],
    "usages": ["serverAuth", "clientAuth"],
}
ADMIN = {"name": "etcdctl"}
FLANNEL = {"name": "flanneld-n1", "ca": "client-ca"}


def run(capsys, path, certs=(SERVER, ADMIN, FLANNEL), check=False, **extra):
    args = {"path": str(path), "cluster_name": "lab", "certs": list(certs), **extra}
    if check:
        args["_ansible_check_mode"] = True
    return run_module(mod, capsys, args)


def cert(path, name):
    return x509.load_pem_x509_certificate((path / f"{name}.crt").read_bytes())


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_first_pass_makes_both_cas_and_every_certificate(tmp_path, capsys):
    d = tmp_path / "pki"
    out = run(capsys, d)
    assert out["rc"] == 0 and out["changed"]
    assert {"ca", "client-ca", "n1-server.key", "etcdctl.key", "flanneld-n1.key"} <= set(
        out["created"]
    )
    assert out["signed"] == {"n1-server": "missing", "etcdctl": "missing", "flanneld-n1": "missing"}
    assert mode(d) == 0o700
    for name in ("ca", "client-ca", "n1-server", "etcdctl", "flanneld-n1"):
        assert mode(d / f"{name}.key") == 0o600
        assert mode(d / f"{name}.crt") == 0o644
    server = cert(d, "n1-server")
    assert server.issuer == cert(d, "ca").subject
    assert server.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "n1"
    assert cert(d, "flanneld-n1").issuer == cert(d, "client-ca").subject
    eku = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert set(eku) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(v.value) for v in san} == {"10.0.0.1", "n1"}
    ca = cert(d, "ca").extensions.get_extension_for_class(x509.BasicConstraints)
    assert ca.critical and ca.value.ca and ca.value.path_length == 0
    assert set(out["ca_not_after"]) == {"ca", "client-ca"} and out["ca_renew_due"] == []


def test_second_pass_changes_nothing(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    before = {p.name: p.read_bytes() for p in d.iterdir()}
    out = run(capsys, d)
    assert not out["changed"] and out["created"] == [] and out["signed"] == {}
    assert {p.name: p.read_bytes() for p in d.iterdir()} == before


def test_changed_sans_re_sign_and_keep_the_key(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    key = (d / "n1-server.key").read_bytes()
    out = run(capsys, d, certs=[dict(SERVER, sans=["IP:10.0.0.9"]), ADMIN, FLANNEL])
    assert out["signed"] == {"n1-server": "subject alternative names changed"}
    assert (d / "n1-server.key").read_bytes() == key


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"common_name": "other"}, "common name changed"),
        ({"usages": ["clientAuth"]}, "extended key usages changed"),
        ({"ca": "client-ca"}, "not signed by its CA"),
    ],
)
def test_spec_changes_re_sign(tmp_path, capsys, change, reason):
    d = tmp_path / "pki"
    run(capsys, d)
    out = run(capsys, d, certs=[dict(SERVER, **change)])
    assert out["signed"] == {"n1-server": reason}


def test_a_certificate_near_expiry_is_renewed(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d, cert_valid_days=20)
    out = run(capsys, d, renew_days=30)
    assert set(out["signed"].values()) == {"expires within 30 days"}
    out = run(capsys, d, renew_days=30)
    assert out["signed"] == {}


def test_a_ca_near_expiry_is_reported_never_replaced(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d, ca_valid_days=10)
    ca = (d / "ca.crt").read_bytes()
    out = run(capsys, d)
    assert out["ca_renew_due"] == ["ca", "client-ca"] and not out["changed"]
    assert (d / "ca.crt").read_bytes() == ca


def test_a_new_key_re_signs(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    (d / "etcdctl.key").unlink()
    out = run(capsys, d)
    assert out["created"] == ["etcdctl.key"] and out["signed"] == {"etcdctl": "its key changed"}
    out = run(capsys, d)
    assert not out["changed"]


def test_a_foreign_certificate_in_place_is_re_signed(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    other = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "n1")])
    now = datetime.datetime.now(datetime.UTC)
    fake = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(cert(d, "ca").subject)
        .public_key(
            serialization.load_pem_private_key(
                (d / "n1-server.key").read_bytes(), None
            ).public_key()
        )
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=400))
        .sign(other, hashes.SHA256())
    )
    (d / "n1-server.crt").write_bytes(fake.public_bytes(serialization.Encoding.PEM))
    out = run(capsys, d)
    assert out["signed"] == {"n1-server": "not signed by its CA"}


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    d = tmp_path / "pki"
    out = run(capsys, d, check=True)
    assert out["changed"] and not d.exists()
    run(capsys, d)
    (d / "etcdctl.crt").unlink()
    out = run(capsys, d, check=True)
    assert out["signed"] == {"etcdctl": "missing"} and not (d / "etcdctl.crt").exists()


def test_the_supplied_ca_is_copied_and_used(tmp_path, capsys):
    src = tmp_path / "mine"
    run(capsys, src, certs=[])
    d = tmp_path / "pki"
    out = run(capsys, d, ca_cert_src=str(src / "ca.crt"), ca_key_src=str(src / "ca.key"))
    assert "ca.crt" in out["created"] and "ca" not in out["created"]
    assert (d / "ca.crt").read_bytes() == (src / "ca.crt").read_bytes()
    assert cert(d, "n1-server").issuer == cert(src, "ca").subject
    out = run(capsys, d, ca_cert_src=str(src / "ca.crt"), ca_key_src=str(src / "ca.key"))
    assert not out["changed"]


def test_a_ca_without_its_key_is_an_error_naming_the_file(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    (d / "client-ca.key").unlink()
    out = run(capsys, d)
    assert out["failed"] and "client-ca.crt exists but its key" in out["msg"]
    assert str(d) in out["msg"]


def test_a_ca_key_that_does_not_match_is_an_error(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    (d / "ca.key").write_bytes((d / "client-ca.key").read_bytes())
    out = run(capsys, d)
    assert out["failed"] and "ca.key is not the key of" in out["msg"]


def test_specs_are_deduplicated_and_conflicts_refused():
    assert len(pki.normalise_specs([ADMIN, ADMIN], ["ca"])) == 1
    with pytest.raises(pki.PkiError, match="asked for twice"):
        pki.normalise_specs([ADMIN, dict(ADMIN, common_name="x")], ["ca"])
    with pytest.raises(pki.PkiError, match="ca 'nope' is none of"):
        pki.normalise_specs([dict(ADMIN, ca="nope")], ["ca"])
    with pytest.raises(pki.PkiError, match="plain file name"):
        pki.normalise_specs([{"name": "../x"}], ["ca"])


def test_san_entries_reject_unknown_forms():
    assert [type(n) for n in pki.san_entries(["IP:::1", "DNS:a"])] == [x509.IPAddress, x509.DNSName]
    with pytest.raises(pki.PkiError, match="expected IP"):
        pki.san_entries(["10.0.0.1"])
    with pytest.raises(pki.PkiError, match="unknown kind"):
        pki.san_entries(["XX:1"])


def test_leaf_certificates_carry_the_key_identifiers(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    ca_ski = cert(d, "ca").extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    server = cert(d, "n1-server")
    aki = server.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    assert aki.key_identifier == ca_ski.digest
    assert server.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_a_certificate_without_the_authority_key_identifier_is_re_signed(tmp_path, capsys):
    d = tmp_path / "pki"
    run(capsys, d)
    ca_key = serialization.load_pem_private_key((d / "ca.key").read_bytes(), None)
    key = serialization.load_pem_private_key((d / "n1-server.key").read_bytes(), None)
    old = cert(d, "n1-server")
    bare = (
        x509.CertificateBuilder().subject_name(old.subject).issuer_name(old.issuer)
        .public_key(key.public_key()).serial_number(2)
        .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc)
        .add_extension(
            old.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, False
        )
        .add_extension(old.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value, False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    (d / "n1-server.crt").write_bytes(bare.public_bytes(serialization.Encoding.PEM))
    out = run(capsys, d)
    assert out["signed"] == {"n1-server": "no authority key identifier of its CA"}


def test_a_strict_tls_client_accepts_the_server_certificate(tmp_path, capsys):
    """What Python 3.13's ssl does by default (VERIFY_X509_STRICT), over a real handshake."""
    import socket
    import ssl
    import threading

    d = tmp_path / "pki"
    run(capsys, d, certs=[dict(SERVER, sans=["DNS:localhost"])])
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(d / "n1-server.crt", d / "n1-server.key")
    client_ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    client_ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    a, b = socket.socketpair()
    errors = []

    def serve():
        try:
            with server_ctx.wrap_socket(a, server_side=True) as s:
                s.sendall(b"ok")
        except (ssl.SSLError, OSError) as err:
            errors.append(err)

    thread = threading.Thread(target=serve)
    thread.start()
    with client_ctx.wrap_socket(b, server_hostname="localhost") as c:
        assert c.recv(2) == b"ok"
    thread.join(5)
    assert not errors
