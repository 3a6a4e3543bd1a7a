"""Unit tests for the release_install_digest filter (roles/release_install/filter_plugins):
a controller file's digest, kept by path and file identity in the process and in a cache
file that the next worker (and the next run) reads."""

import hashlib
import json
import os

import pytest

from tests.unit.loader import load

ri = load("release_install", "roles/release_install/filter_plugins/release_install.py")
digest = ri.release_install_digest


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Each test with an empty cache directory and an empty process cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setattr(ri._host_read, "_DIGESTS", {})
    return tmp_path / "xdg-cache" / "flannel-ansible" / "release-digests.json"


def test_the_filter_is_registered():
    assert ri.FilterModule().filters()["release_install_digest"] is digest


@pytest.mark.parametrize("algorithm", ["sha256", "sha512", "sha1"])
def test_it_is_hashlib_s_digest(tmp_path, algorithm):
    f = tmp_path / "flanneld"
    f.write_bytes(b"\x7fELF" + bytes(range(256)) * 5000)  # more than one 1 MiB block
    assert digest(str(f), algorithm) == hashlib.new(algorithm, f.read_bytes()).hexdigest()


def test_sha256_is_the_default(tmp_path):
    f = tmp_path / "etcd.tar.gz"
    f.write_bytes(b"archive")
    assert digest(str(f)) == hashlib.sha256(b"archive").hexdigest()


def test_an_empty_file_has_the_empty_digest(tmp_path):
    (tmp_path / "empty").write_bytes(b"")
    assert digest(str(tmp_path / "empty")) == hashlib.sha256(b"").hexdigest()


def test_a_changed_file_gives_its_new_digest(tmp_path):
    f = tmp_path / "flanneld"
    f.write_bytes(b"version 1")
    old = digest(str(f))
    before = os.stat(f).st_mtime_ns
    f.write_bytes(b"version 2")  # the same size
    os.utime(f, ns=(before + 10**9, before + 10**9))
    assert digest(str(f)) == hashlib.sha256(b"version 2").hexdigest() != old


def test_a_new_size_alone_gives_the_new_digest(tmp_path):
    f = tmp_path / "flanneld"
    f.write_bytes(b"v1")
    st = os.stat(f)
    digest(str(f))
    f.write_bytes(b"v1 and more")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same mtime
    assert digest(str(f)) == hashlib.sha256(b"v1 and more").hexdigest()


def test_a_file_is_hashed_once_while_it_stays_the_same(tmp_path, monkeypatch):
    f = tmp_path / "flanneld"
    f.write_bytes(b"binary")
    first = digest(str(f))
    monkeypatch.setattr(ri.hashlib, "new", lambda *a: pytest.fail("hashed again"))
    assert digest(str(f)) == first


def test_a_link_shares_its_target_s_digest(tmp_path):
    (tmp_path / "real").write_bytes(b"binary")
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert digest(str(tmp_path / "link")) == digest(str(tmp_path / "real"))


def test_a_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        digest(str(tmp_path / "nope"))


def test_an_unknown_algorithm_raises(tmp_path):
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(ValueError):
        digest(str(tmp_path / "f"), "md17")


def test_a_new_worker_reads_the_digest_from_the_cache_file(tmp_path, monkeypatch, own_cache):
    f = tmp_path / "flanneld"
    f.write_bytes(b"binary")
    first = digest(str(f))
    assert own_cache.exists()
    monkeypatch.setattr(ri._host_read, "_DIGESTS", {})  # a freshly forked worker of the next task
    monkeypatch.setattr(ri.hashlib, "new", lambda *a: pytest.fail("hashed again"))
    assert digest(str(f)) == first


def test_a_rewritten_file_is_hashed_again_despite_the_cache_file(tmp_path, monkeypatch):
    f = tmp_path / "flanneld"
    f.write_bytes(b"version 1")
    st = os.stat(f)
    digest(str(f))
    monkeypatch.setattr(ri._host_read, "_DIGESTS", {})
    f.write_bytes(b"version 2")  # the same size, mtime put back: only ctime tells
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert digest(str(f)) == hashlib.sha256(b"version 2").hexdigest()


def test_the_cache_keeps_one_entry_per_file_and_algorithm(tmp_path, own_cache):
    f = tmp_path / "flanneld"
    f.write_bytes(b"v1")
    digest(str(f))
    digest(str(f), "sha512")
    f.write_bytes(b"v2 longer")
    digest(str(f))
    entries = json.loads(own_cache.read_text())
    assert sorted(v for v in entries.values()) == sorted(
        [hashlib.sha512(b"v1").hexdigest(), hashlib.sha256(b"v2 longer").hexdigest()]
    )


def test_a_broken_or_unwritable_cache_is_ignored(tmp_path, monkeypatch, own_cache):
    f = tmp_path / "flanneld"
    f.write_bytes(b"binary")
    own_cache.parent.mkdir(parents=True)
    own_cache.write_text("{not json")
    assert digest(str(f)) == hashlib.sha256(b"binary").hexdigest()
    monkeypatch.setattr(ri._host_read, "_DIGESTS", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(f))  # a file, not a directory: no cache
    assert digest(str(f)) == hashlib.sha256(b"binary").hexdigest()


def test_a_failed_cache_write_leaves_no_temporary_file(tmp_path, monkeypatch, own_cache):
    f = tmp_path / "flanneld"
    f.write_bytes(b"binary")

    def refuse(*args):
        raise OSError("read-only")

    monkeypatch.setattr(ri.os, "replace", refuse)
    assert digest(str(f)) == hashlib.sha256(b"binary").hexdigest()
    assert list(own_cache.parent.iterdir()) == []
