"""Unit tests for library/release_state.py: is a release installed as release_install lays
it out (version directory, fetched file owned by root, unpacked program, links)?"""

import hashlib
import os

import pytest

from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
mod = load("release_state", "library/release_state.py")

# The fetched file must be owned by uid 0 / gid 0: past the first two checks, only root
# can lay out a converged release.
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the release must be owned by root")

ARCHIVE = b"etcd release archive\n"


@pytest.fixture
def release(tmp_path):
    """An etcd archive install laid out in tmp_path, converged; its release_state params."""
    top, bin_dir = tmp_path / "opt" / "etcd", tmp_path / "bin"
    version_dir = top / "v3.5.35"
    version_dir.mkdir(parents=True)
    bin_dir.mkdir()
    archive = top / "etcd-v3.5.35.tar.gz"
    archive.write_bytes(ARCHIVE)
    archive.chmod(0o644)
    links = []
    for name in ("etcd", "etcdctl"):
        (version_dir / name).write_text("#!/bin/sh\n")
        (bin_dir / name).symlink_to(version_dir / name)
        links.append({"src": str(version_dir / name), "dest": str(bin_dir / name)})
    return {
        "version_dir": str(version_dir),
        "fetch_dest": str(archive),
        "mode": "0644",
        "algorithm": "sha256",
        "digest": hashlib.sha256(ARCHIVE).hexdigest(),
        "creates": str(version_dir / "etcd"),
        "links": links,
    }


def test_without_the_version_directory_that_is_the_first_gap(release):
    os.rename(release["version_dir"], release["version_dir"] + ".old")
    assert mod.why_not(release) == f"no directory {release['version_dir']}"


def test_without_the_fetched_file(release):
    os.unlink(release["fetch_dest"])
    assert mod.why_not(release) == f"no {release['fetch_dest']}"


@root_only
def test_a_converged_release_has_no_gap(release, capsys):
    assert mod.why_not(release) == ""
    out = run_module(mod, capsys, {**release, "_ansible_check_mode": True})
    assert out["rc"] == 0 and out["changed"] is False
    assert out["converged"] is True and out["why"] == ""


@root_only
def test_the_digest_is_compared_without_case(release):
    assert mod.why_not(dict(release, digest=release["digest"].upper())) == ""


@root_only
def test_another_algorithm_is_computed(release):
    sha512 = hashlib.sha512(ARCHIVE).hexdigest()
    assert mod.why_not(dict(release, algorithm="sha512", digest=sha512)) == ""
    wrong = mod.why_not(dict(release, algorithm="sha512", digest=release["digest"]))
    assert wrong.startswith(f"{release['fetch_dest']} has another") and "digest" in wrong


@root_only
def test_a_wrong_mode(release):
    os.chmod(release["fetch_dest"], 0o600)
    assert mod.why_not(release) == f"{release['fetch_dest']} has another mode or owner"
    os.chmod(release["fetch_dest"], 0o644)
    assert mod.why_not(dict(release, mode="0755")).endswith("has another mode or owner")


@root_only
@pytest.mark.parametrize("uid, gid", [(1000, 0), (0, 1000)])
def test_a_wrong_owner_or_group(release, uid, gid):
    os.chown(release["fetch_dest"], uid, gid)
    assert mod.why_not(release) == f"{release['fetch_dest']} has another mode or owner"


@root_only
def test_a_wrong_digest(release):
    with open(release["fetch_dest"], "ab") as handle:
        handle.write(b"more")
    why = mod.why_not(release)
    assert why.startswith(f"{release['fetch_dest']} has another") and why.endswith("digest")


@root_only
def test_an_archive_not_unpacked(release):
    os.unlink(release["creates"])
    os.unlink(release["links"][0]["dest"])
    assert mod.why_not(release) == f"no {release['creates']}"


@root_only
def test_no_creates_for_a_binary(release):
    os.unlink(release["creates"])
    assert mod.why_not(dict(release, creates="", links=release["links"][1:])) == ""


@root_only
def test_a_missing_link(release):
    link = release["links"][1]
    os.unlink(link["dest"])
    assert mod.why_not(release) == f"{link['dest']} is not a link to {link['src']}"


@root_only
def test_a_link_to_another_version(release, tmp_path):
    link = release["links"][0]
    (tmp_path / "old-etcd").write_text("")
    os.unlink(link["dest"])
    os.symlink(tmp_path / "old-etcd", link["dest"])
    assert mod.why_not(release) == f"{link['dest']} is not a link to {link['src']}"


@root_only
def test_a_file_where_the_link_should_be(release):
    link = release["links"][1]
    os.unlink(link["dest"])
    with open(link["dest"], "w") as handle:
        handle.write("#!/bin/sh\n")
    assert mod.why_not(release) == f"{link['dest']} is not a link to {link['src']}"


@root_only
def test_a_program_missing_from_the_release(release):
    link = release["links"][1]
    os.unlink(link["src"])  # the link is left dangling
    assert mod.why_not(release) == f"no {link['src']}"


@root_only
def test_an_unknown_algorithm_is_a_gap_not_a_crash(release, capsys):
    out = run_module(mod, capsys, dict(release, algorithm="md17"))
    assert out["rc"] == 0 and out["converged"] is False and "md17" in out["why"]


def test_the_module_says_why_it_is_not_converged(release, capsys):
    os.unlink(release["fetch_dest"])
    out = run_module(mod, capsys, release)
    assert out["rc"] == 0 and out["changed"] is False
    assert out["converged"] is False and out["why"] == f"no {release['fetch_dest']}"
