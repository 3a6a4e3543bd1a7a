"""Unit tests of the release install plan (roles/release_install/filter_plugins)."""

import pytest

from tests.unit.loader import load

ri = load("release_install", "roles/release_install/filter_plugins/release_install.py")
plan = ri.release_install_plan

ETCD = {
    "name": "etcd",
    "version": "v3.5.35",
    "format": "archive",
    "src": "",
    "url": "https://example.invalid/etcd-v3.5.35-linux-amd64.tar.gz",
    "checksum": "sha256:ABCDEF01",
    "dir": "/opt/etcd",
    "file": "etcd-v3.5.35-linux-amd64.tar.gz",
    "strip": 1,
    "programs": ["etcd", "etcdctl", "etcdutl"],
    "bin_dir": "/usr/local/bin",
}
FLANNELD = {
    "name": "flanneld",
    "version": "v0.28.9",
    "format": "binary",
    "src": "/cache/flanneld",
    "url": "",
    "checksum": "",
    "dir": "/opt/flannel",
    "file": "",
    "programs": ["flanneld"],
    "bin_dir": "/usr/local/bin",
}


def test_filter_is_registered():
    assert set(ri.FilterModule().filters()) == {
        "release_install_plan",
        "release_install_digest",
        "release_install_gap",
    }


def test_an_archive_download_is_kept_beside_its_version_directory():
    p = plan(ETCD)
    assert p["problems"] == []
    assert p["version_dir"] == "/opt/etcd/v3.5.35"
    assert p["fetch_from"] == "url"
    assert p["fetch_dest"] == "/opt/etcd/etcd-v3.5.35-linux-amd64.tar.gz"
    assert p["unpack"] is True
    assert p["creates"] == "/opt/etcd/v3.5.35/etcd"
    assert (p["checksum_algorithm"], p["checksum_value"]) == ("sha256", "abcdef01")
    assert p["links"][2] == {
        "name": "etcdutl",
        "src": "/opt/etcd/v3.5.35/etcdutl",
        "dest": "/usr/local/bin/etcdutl",
    }


def test_a_binary_from_the_controller_is_the_program_in_its_version_directory():
    p = plan(FLANNELD)
    assert p["problems"] == []
    assert p["fetch_from"] == "src"
    assert p["unpack"] is False
    assert p["fetch_dest"] == p["creates"] == "/opt/flannel/v0.28.9/flanneld"
    assert p["links"] == [
        {
            "name": "flanneld",
            "src": "/opt/flannel/v0.28.9/flanneld",
            "dest": "/usr/local/bin/flanneld",
        }
    ]
    assert (p["checksum_algorithm"], p["checksum_value"]) == ("", "")


def test_a_controller_file_wins_over_the_url():
    assert plan({**ETCD, "src": "/cache/etcd.tar.gz"})["fetch_from"] == "src"


@pytest.mark.parametrize(
    "change,message",
    [
        ({"checksum": ""}, "etcd: a download from https://example.invalid/"),
        ({"checksum": "md5:00"}, "etcd: checksum 'md5:00' is not <algorithm>:<hex>"),
        ({"checksum": "sha256"}, "etcd: checksum 'sha256' is not <algorithm>:<hex>"),
        ({"url": ""}, "etcd: neither a controller file (src) nor a url"),
        ({"format": "zip"}, "etcd: format 'zip' is not one of archive, binary"),
        ({"version": "../x"}, "etcd: version '../x' is not a plain version name"),
        ({"version": ""}, "etcd: version '' is not a plain version name"),
        ({"dir": "opt/etcd"}, "etcd: dir 'opt/etcd' is not an absolute path"),
        ({"bin_dir": ""}, "etcd: bin_dir '' is not an absolute path"),
        ({"programs": []}, "etcd: programs is empty"),
        ({"programs": ["etcd", "a/b"]}, "etcd: programs ['a/b'] are not plain file names"),
        ({"file": ""}, "etcd: file '' is not a plain file name for the archive"),
        ({"format": "binary"}, "etcd: a binary release holds one program, not 3"),
    ],
)
def test_bad_settings_are_named(change, message):
    problems = plan({**ETCD, **change})["problems"]
    assert len(problems) == 1, problems
    assert problems[0].startswith(message), problems


def test_a_controller_file_needs_no_checksum_but_a_given_one_must_parse():
    assert plan(FLANNELD)["problems"] == []
    assert plan({**FLANNELD, "checksum": "sha512:zz"})["problems"] == [
        "flanneld: checksum 'sha512:zz' is not <algorithm>:<hex> "
        "(sha1, sha224, sha256, sha384, sha512)"
    ]
