"""Unit tests of the docker role's repo filters (roles/docker/filter_plugins/docker_repo.py)."""

import base64
import hashlib

import pytest

from tests.unit.loader import load

dr = load("docker_repo", "roles/docker/filter_plugins/docker_repo.py")

# An ed25519 key made with gpg for these tests; gpg printed its fingerprint.
KEY = """-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEaw9RWBYJKwYBBAHaRw8BAQdAS2P41tzVy/NJO9WnIppwg92l+ezZKpuy8EEs
yfgVA+u0HHVuaXQgdGVzdCBrZXkgPHVuaXRAaW52YWxpZD6IkAQTFggAOBYhBM42
abZ8K1QL+q8WXWewnCXKICasBQJrD1FYAhsDBQsJCAcCBhUKCQgLAgQWAgMBAh4B
AheAAAoJEGewnCXKICasyP8A/j+8t9Sdi90H7krXlt4aTC3H1x7daQU96DSRXBVG
aYiyAP9gMGGGF9c9DDaRvE+sNFsBf8htn1s9bme/taSXilIdAg==
=incI
-----END PGP PUBLIC KEY BLOCK-----
"""
FPR = "CE3669B67C2B540BFAAF165D67B09C25CA2026AC"


def test_filters_are_registered():
    assert set(dr.FilterModule().filters()) == {
        "docker_openpgp_fingerprints",
        "docker_normalize_fingerprint",
        "docker_repo_package_specs",
    }


def test_fingerprint_of_a_gpg_exported_key():
    assert dr.docker_openpgp_fingerprints(KEY) == [FPR]


def test_fingerprint_of_slurped_key():
    assert dr.docker_openpgp_fingerprints(base64.b64encode(KEY.encode()).decode(), "base64") == [
        FPR
    ]


def test_armour_headers_are_skipped():
    text = KEY.replace("\n\n", "\nComment: Docker release key\n\n", 1)
    assert dr.docker_openpgp_fingerprints(text) == [FPR]


def test_new_format_header_and_two_keys():
    body = bytes([4]) + b"\x00\x00\x00\x01" + bytes([22]) + b"x" * 40
    expected = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    packet = bytes([0xC0 | 6, len(body)]) + body
    two = packet + packet
    armoured = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n"
    armoured += base64.b64encode(two).decode() + "\n-----END PGP PUBLIC KEY BLOCK-----\n"
    assert dr.docker_openpgp_fingerprints(armoured) == [expected, expected]


@pytest.mark.parametrize(
    "text, message",
    [
        ("<html>404 Not Found</html>", "not an ASCII-armoured"),
        ("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n!!!!\n-----END PGP", "does not decode"),
        (KEY.replace("mDMEaw9R", "mDMFaw9R"), "version 5"),
    ],
)
def test_what_is_not_a_key_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        dr.docker_openpgp_fingerprints(text)


def test_truncated_key_is_refused():
    data = dr.dearmor(KEY)[:20]
    armoured = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + base64.b64encode(data).decode()
    with pytest.raises(ValueError, match="truncated"):
        dr.docker_openpgp_fingerprints(armoured)


def test_fingerprints_are_normalised():
    assert dr.normalize_fingerprint("9dc8 5822 9fc7 dd38\n854a") == "9DC858229FC7DD38854A"
    assert dr.normalize_fingerprint(None) == ""


def test_version_pins_only_the_engine_packages():
    packages = ["docker-ce", "docker-ce-cli", "containerd.io"]
    assert dr.docker_repo_package_specs(packages, "") == packages
    assert dr.docker_repo_package_specs(packages, "26.1.5") == [
        "docker-ce=5:26.1.5-*",
        "docker-ce-cli=5:26.1.5-*",
        "containerd.io",
    ]


@pytest.mark.parametrize("bad", ["latest", "5:27.3.1-1", "27", "27.3.1 ; rm"])
def test_malformed_version_names_the_key(bad):
    with pytest.raises(ValueError, match="docker_version"):
        dr.docker_repo_package_specs(["docker-ce"], bad)
