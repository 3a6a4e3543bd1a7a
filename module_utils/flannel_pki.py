"""The etcd PKI on the controller: two CAs and the certificates they sign, in one pass.

Used by ``etcd_pki``: the action plugin (action_plugins/etcd_pki.py) runs ``keep`` in
the controller's worker process, and the module (library/etcd_pki.py, its documentation
and the path for callers without the plugin) runs it in a Python of its own; both take
``ARGUMENT_SPEC``. One call replaces a dozen community.crypto tasks per member; each of
those started a Python process that imported ``cryptography`` again.

What is kept, what is (re)made:

- A CA (``<name>.key``/``<name>.crt``) is made only when both files are missing.
  An existing CA is never replaced: members with different CAs cannot talk. A CA
  certificate without its key, or a key that does not match it, is an error.
- A certificate's key (``<name>.key``, ECC P-256) is made when missing and kept
  otherwise.
- A certificate (``<name>.crt``) is (re)signed when it is missing or unreadable,
  when it does not hold its key's public key, when it was not signed by its CA,
  when its common name, subject alternative names or extended key usages differ
  from the spec, when it lacks the authority key identifier of its CA (strict
  verifiers such as Python 3.13's ssl refuse it then), or when it expires within
  ``renew_days``. Certificates carry subject and authority key identifiers, as
  community.crypto's made them, so a PKI made by 0.5.0 is kept as it is.

Keys are written with mode 0600, certificates 0644, through a temporary file and
a rename, so an interrupted run leaves either the old file or the new one.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

USAGES = {
    "serverAuth": ExtendedKeyUsageOID.SERVER_AUTH,
    "clientAuth": ExtendedKeyUsageOID.CLIENT_AUTH,
}


CERT_OPTIONS = {
    "name": {"type": "str", "required": True},
    "common_name": {"type": "str"},
    "sans": {"type": "list", "elements": "str", "default": []},
    "usages": {
        "type": "list",
        "elements": "str",
        "choices": ["serverAuth", "clientAuth"],
        "default": ["clientAuth"],
    },
    "ca": {"type": "str"},
}
# etcd_pki's arguments, for the module and the action plugin alike.
ARGUMENT_SPEC: dict[str, Any] = {
    "path": {"type": "path", "required": True},
    "cluster_name": {"type": "str", "required": True},
    "client_ca_name": {"type": "str", "default": "client-ca"},
    "ca_cert_src": {"type": "path"},
    "ca_key_src": {"type": "path", "no_log": True},
    "ca_valid_days": {"type": "int", "default": 3650},
    "cert_valid_days": {"type": "int", "default": 730},
    "renew_days": {"type": "int", "default": 30},
    "certs": {"type": "list", "elements": "dict", "default": [], "options": CERT_OPTIONS},
}
REQUIRED_TOGETHER = [["ca_cert_src", "ca_key_src"]]


class PkiError(Exception):
    """A PKI problem the caller must fix; the message names the file."""


@dataclass
class Outcome:
    """What one pass did (or, in check mode, would do)."""

    created: list[str] = field(default_factory=list)
    signed: dict[str, str] = field(default_factory=dict)  # certificate name -> reason
    ca_not_after: dict[str, str] = field(default_factory=dict)
    ca_renew_due: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.signed)

    def result(self) -> dict[str, Any]:
        """etcd_pki's result (the module's RETURN)."""
        return {
            "changed": self.changed,
            "created": self.created,
            "signed": self.signed,
            "ca_not_after": self.ca_not_after,
            "ca_renew_due": self.ca_renew_due,
        }


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write(path: str, data: bytes, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _read_key(path: str) -> ec.EllipticCurvePrivateKey | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as handle:
            return serialization.load_pem_private_key(handle.read(), password=None)
    except (ValueError, TypeError) as err:
        raise PkiError(f"{path}: not a readable unencrypted private key ({err})") from err


def _read_cert(path: str) -> x509.Certificate | None:
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as handle:
            return x509.load_pem_x509_certificate(handle.read())
    except ValueError:
        return None


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _same_key(cert: x509.Certificate, key: Any) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return cert.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def san_entries(sans: Sequence[str]) -> list[x509.GeneralName]:
    """``["IP:10.0.0.1", "DNS:n1"]`` (the etcd_sans filter's form) as x509 names."""
    out: list[x509.GeneralName] = []
    for san in sans:
        kind, sep, value = str(san).partition(":")
        if not sep or not value:
            raise PkiError(f"subject alternative name {san!r}: expected IP:<address> or DNS:<name>")
        if kind == "IP":
            out.append(x509.IPAddress(ipaddress.ip_address(value)))
        elif kind == "DNS":
            out.append(x509.DNSName(value))
        elif kind == "URI":
            out.append(x509.UniformResourceIdentifier(value))
        elif kind == "email":
            out.append(x509.RFC822Name(value))
        else:
            raise PkiError(f"subject alternative name {san!r}: unknown kind {kind}")
    return out


def _cert_sans(cert: x509.Certificate) -> set[x509.GeneralName]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    except x509.ExtensionNotFound:
        return set()


def _cert_usages(cert: x509.Certificate) -> set[Any]:
    try:
        return set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return set()


def _common_name(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else ""


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, Exception):  # InvalidSignature has no common base
        return False
    return True


def _aki_for(ca: x509.Certificate) -> x509.AuthorityKeyIdentifier:
    """The authority key identifier a certificate signed by ``ca`` carries."""
    try:
        ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    except x509.ExtensionNotFound:
        return x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.public_key())


def _has_aki_of(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    """Strict verifiers (Python 3.13's ssl, OpenSSL's X509_STRICT) want the AKI."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return False
    return aki.key_identifier == _aki_for(ca).key_identifier


def _key_usage(ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not ca,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _build(
    subject_cn: str, public_key: Any, issuer: x509.Name | None, days: int
) -> x509.CertificateBuilder:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    now = _now()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
    )


def ensure_ca(
    directory: str,
    name: str,
    common_name: str,
    valid_days: int,
    renew_days: int,
    out: Outcome,
    check: bool,
) -> tuple[x509.Certificate | None, Any]:
    """The CA ``name`` in ``directory``, made when both of its files are missing."""
    key_path, crt_path = (os.path.join(directory, f"{name}.{ext}") for ext in ("key", "crt"))
    key, cert = _read_key(key_path), _read_cert(crt_path)
    if cert is None and os.path.exists(crt_path):
        raise PkiError(
            f"{crt_path}: not a readable PEM certificate; a CA is never replaced by the role"
        )
    if cert is not None and key is None:
        raise PkiError(f"{crt_path} exists but its key {key_path} does not; restore the key")
    if cert is None and key is not None:
        raise PkiError(
            f"{key_path} exists but its certificate {crt_path} does not; restore the certificate"
        )
    if cert is not None and not _same_key(cert, key):
        raise PkiError(f"{key_path} is not the key of {crt_path}")
    if cert is None:
        out.created.append(name)
        if check:
            return None, None
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            _build(common_name, key.public_key(), None, valid_days)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        )
        cert = builder.sign(key, hashes.SHA256())
        _write(key_path, _pem_key(key), 0o600)
        _write(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    not_after = cert.not_valid_after_utc
    out.ca_not_after[name] = not_after.strftime("%Y%m%d%H%M%SZ")
    if not_after < _now() + datetime.timedelta(days=renew_days):
        out.ca_renew_due.append(name)
    return cert, key


def _resign_reason(
    cert: x509.Certificate | None,
    key: Any,
    ca: x509.Certificate,
    spec: Mapping[str, Any],
    renew_days: int,
) -> str:
    if cert is None:
        return "missing"
    if not _same_key(cert, key):
        return "its key changed"
    if not _signed_by(cert, ca):
        return "not signed by its CA"
    if not _has_aki_of(cert, ca):
        return "no authority key identifier of its CA"
    if _common_name(cert) != spec["common_name"]:
        return "common name changed"
    if _cert_sans(cert) != set(san_entries(spec["sans"])):
        return "subject alternative names changed"
    if _cert_usages(cert) != {USAGES[u] for u in spec["usages"]}:
        return "extended key usages changed"
    if cert.not_valid_after_utc < _now() + datetime.timedelta(days=renew_days):
        return f"expires within {renew_days} days"
    return ""


def ensure_cert(
    directory: str,
    spec: Mapping[str, Any],
    ca: tuple[x509.Certificate | None, Any],
    valid_days: int,
    renew_days: int,
    out: Outcome,
    check: bool,
) -> None:
    """The certificate ``spec['name']`` signed by ``ca``: key kept, re-signed when due."""
    name = spec["name"]
    key_path, crt_path = (os.path.join(directory, f"{name}.{ext}") for ext in ("key", "crt"))
    key = _read_key(key_path)
    if key is None:
        out.created.append(f"{name}.key")
        if check:
            out.signed[name] = "missing"
            return
        key = ec.generate_private_key(ec.SECP256R1())
        _write(key_path, _pem_key(key), 0o600)
    ca_cert, ca_key = ca
    if ca_cert is None:  # check mode, the CA is yet to be made
        out.signed[name] = "missing"
        return
    reason = _resign_reason(_read_cert(crt_path), key, ca_cert, spec, renew_days)
    if not reason:
        return
    out.signed[name] = reason
    if check:
        return
    builder = (
        _build(spec["common_name"], key.public_key(), ca_cert.subject, valid_days)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([USAGES[u] for u in spec["usages"]]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(_aki_for(ca_cert), critical=False)
    )
    if spec["sans"]:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(san_entries(spec["sans"])), critical=False
        )
    cert = builder.sign(ca_key, hashes.SHA256())
    _write(crt_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def normalise_specs(certs: Sequence[Mapping[str, Any]], cas: Sequence[str]) -> list[dict[str, Any]]:
    """The certificate specs with their defaults, unique by name; errors name the spec."""
    out: dict[str, dict[str, Any]] = {}
    for raw in certs:
        name = str(raw.get("name") or "")
        if not name or "/" in name:
            raise PkiError(f"certificate spec {dict(raw)!r}: name must be a plain file name")
        spec = {
            "name": name,
            "common_name": str(raw.get("common_name") or name),
            "sans": list(raw.get("sans") or []),
            "usages": list(raw.get("usages") or ["clientAuth"]),
            "ca": str(raw.get("ca") or cas[0]),
        }
        bad = [u for u in spec["usages"] if u not in USAGES]
        if bad:
            raise PkiError(f"certificate {name}: unknown usages {bad}; known: {sorted(USAGES)}")
        if spec["ca"] not in cas:
            raise PkiError(f"certificate {name}: ca {spec['ca']!r} is none of {list(cas)}")
        if name in out and out[name] != spec:
            raise PkiError(f"certificate {name} is asked for twice, with different settings")
        out[name] = spec
    return list(out.values())


def copy_supplied_ca(params: Mapping[str, Any], path: str, out: Outcome, check: bool) -> None:
    """Copy the operator's CA into the PKI directory where the copy differs."""
    for src, dest, mode in (
        (params["ca_cert_src"], "ca.crt", 0o644),
        (params["ca_key_src"], "ca.key", 0o600),
    ):
        target = os.path.join(path, dest)
        with open(src, "rb") as handle:
            want = handle.read()
        have = None
        if os.path.exists(target):
            with open(target, "rb") as handle:
                have = handle.read()
        if have == want and (os.stat(target).st_mode & 0o777) == mode:
            continue
        out.created.append(dest)
        if not check:
            shutil.copyfile(src, target)
            os.chmod(target, mode)


def keep(params: Mapping[str, Any], check: bool) -> dict[str, Any]:
    """One pass over the PKI directory with etcd_pki's validated arguments (ARGUMENT_SPEC):
    its result. Check mode reports what would change and writes nothing. Raises PkiError
    or OSError."""
    path, out = params["path"], Outcome()
    if not os.path.isdir(path):
        out.created.append(path)
        if check:
            return out.result()
        os.makedirs(path, mode=0o700)
    if params["ca_cert_src"]:
        copy_supplied_ca(params, path, out, check)
    name = params["cluster_name"]
    cas = {
        "ca": ensure_ca(
            path, "ca", f"{name} etcd CA", params["ca_valid_days"], params["renew_days"], out, check
        ),
        params["client_ca_name"]: ensure_ca(
            path,
            params["client_ca_name"],
            f"{name} etcd client CA (flannel nodes)",
            params["ca_valid_days"],
            params["renew_days"],
            out,
            check,
        ),
    }
    for spec in normalise_specs(params["certs"], list(cas)):
        ensure_cert(
            path, spec, cas[spec["ca"]], params["cert_valid_days"], params["renew_days"], out, check
        )
    return out.result()
