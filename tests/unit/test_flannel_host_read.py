"""Unit tests for module_utils/flannel_host_read.py: read a host's paths and packages, and
which host_files entries differ from that read (test_flannel_host_read_agreement.py checks
the rule against the host_files module itself)."""

import grp
import hashlib
import os
import pwd
import shutil
import subprocess

import pytest

from tests.unit.fake_dpkg import fake_dpkg_query, no_dpkg_query
from tests.unit.loader import use_project_module_utils

use_project_module_utils()
from ansible.module_utils import flannel_host_read as hr  # noqa: E402

OWNER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


# file_sha256


def test_a_file_and_a_link_to_it_are_hashed_once(tmp_path, monkeypatch):
    f = tmp_path / "bin"
    f.write_bytes(b"x" * (3 << 20))
    (tmp_path / "link").symlink_to(f)
    hashed = []
    real_new = hashlib.new

    def counting_new(*args):
        hashed.append(args)
        return real_new(*args)

    monkeypatch.setattr(hr.hashlib, "new", counting_new)
    want = hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    assert hr.file_sha256(str(f)) == want
    assert hr.stat_path(str(tmp_path / "link"))["sha256"] == want
    assert hr.stat_path(str(f))["sha256"] == want
    assert len(hashed) == 1


def test_a_rewritten_file_is_read_again(tmp_path):
    f = tmp_path / "opts"
    f.write_text("A=1\n")
    first = hr.file_sha256(str(f))
    f.write_text("A=22\n")  # another size (and ctime): another file version
    assert first == sha("A=1\n")
    assert hr.file_sha256(str(f)) == sha("A=22\n")


def test_file_sha256_of_a_missing_file_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        hr.file_sha256(str(tmp_path / "nope"))


# stat_path


def test_a_missing_path_is_absent(tmp_path):
    assert hr.stat_path(str(tmp_path / "nope")) == {"type": "absent"}
    assert hr.stat_path(str(tmp_path / "nope")) is not hr.ABSENT  # a copy, not the constant


def test_a_file_has_its_mode_owner_group_names_and_sha256(tmp_path):
    f = tmp_path / "f"
    f.write_text("A=1\n")
    f.chmod(0o640)
    assert hr.stat_path(str(f)) == {
        "type": "file",
        "mode": "0640",
        "owner": OWNER,
        "group": GROUP,
        "sha256": sha("A=1\n"),
    }


def test_a_directory_has_no_digest(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    d.chmod(0o750)
    assert hr.stat_path(str(d)) == {
        "type": "directory",
        "mode": "0750",
        "owner": OWNER,
        "group": GROUP,
    }


def test_a_fifo_is_other(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    out = hr.stat_path(str(fifo))
    assert out["type"] == "other" and out["mode"] == "0600" and "sha256" not in out


def test_a_symlink_to_a_file_is_followed(tmp_path):
    real = tmp_path / "real"
    real.write_text("x")
    real.chmod(0o604)
    (tmp_path / "link").symlink_to(real)
    out = hr.stat_path(str(tmp_path / "link"))
    # what it points to; a `link` key with the target may come along
    assert {k: v for k, v in out.items() if k != "link"} == hr.stat_path(str(real))
    assert out["mode"] == "0604" and out.get("link", str(real)) == str(real)


def test_a_dangling_symlink_is_absent(tmp_path):
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    assert hr.stat_path(str(tmp_path / "link"))["type"] == "absent"


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another uid needs root")
def test_an_owner_without_a_name_is_its_number(tmp_path):
    f = tmp_path / "f"
    f.write_text("")
    os.chown(f, 54321, 54321)  # no such user or group in the image
    out = hr.stat_path(str(f))
    assert out["owner"] == "54321" and out["group"] == "54321"


def test_stat_paths_maps_each_path(tmp_path):
    (tmp_path / "f").write_text("")
    out = hr.stat_paths([str(tmp_path / "f"), str(tmp_path / "g")])
    assert list(out) == [str(tmp_path / "f"), str(tmp_path / "g")]
    assert out[str(tmp_path / "g")] == {"type": "absent"}


# packages_missing


def test_no_packages_asks_nothing(tmp_path, monkeypatch):
    no_dpkg_query(tmp_path, monkeypatch)
    assert hr.packages_missing([]) == []


def test_without_dpkg_query_nothing_is_known(tmp_path, monkeypatch):
    no_dpkg_query(tmp_path, monkeypatch)
    assert hr.packages_missing(["iptables"]) is None


def test_the_packages_not_installed_are_missing(tmp_path, monkeypatch):
    argv = fake_dpkg_query(
        tmp_path,
        monkeypatch,
        [
            "iptables 1.8 installed",
            "kmod 30 not-installed",
            "curl 8.1 config-files",
            "libc6:amd64 2.36 installed",
        ],
    )
    names = ["iptables", "kmod", "curl", "libc6", "libc6:amd64", "jq"]
    assert hr.packages_missing(names) == ["kmod", "curl", "jq"]
    fmt = "-f=${Package} ${Version} ${db:Status-Status}\\n"
    bare = sorted({"iptables", "kmod", "curl", "libc6", "jq"})
    assert argv.read_text().splitlines() == ["-W", fmt, *bare]


def test_a_version_pin_needs_a_matching_version(tmp_path, monkeypatch):
    fake_dpkg_query(tmp_path, monkeypatch, ["docker-ce 5:27.3.1-1~debian.12 installed"])
    assert hr.packages_missing(["docker-ce=5:27.3.1-1~debian.12"]) == []
    assert hr.packages_missing(["docker-ce=5:27.3.1*"]) == []
    assert hr.packages_missing(["docker-ce=5:28.0.0-1"]) == ["docker-ce=5:28.0.0-1"]
    assert hr.packages_missing(["docker-ce=5:28*"]) == ["docker-ce=5:28*"]


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs the real dpkg-query")
def test_the_real_dpkg_query_knows_dpkg_itself():
    assert hr.packages_missing(["dpkg", "no-such-package-xyz"]) == ["no-such-package-xyz"]


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs the real dpkg-query")
def test_the_real_dpkg_query_finds_a_pinned_installed_package():
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "dpkg"], capture_output=True, text=True, check=True
    ).stdout
    assert hr.packages_missing([f"dpkg={version}"]) == []


# differs and pending

FILE = {"path": "/etc/f", "content": "A=1\n", "mode": "0644"}
SEEN = {"type": "file", "mode": "0644", "owner": "root", "group": "root", "sha256": sha("A=1\n")}
DIR = {"path": "/etc/d", "state": "directory", "mode": "0755"}
SEEN_DIR = {"type": "directory", "mode": "0755", "owner": "root", "group": "root"}


def test_an_equal_file_and_directory_do_not_differ():
    assert not hr.differs(FILE, SEEN) and not hr.differs(DIR, SEEN_DIR)
    assert not hr.differs(dict(FILE, mode="644"), SEEN)  # the same octal number


@pytest.mark.parametrize(
    "entry, seen",
    [
        (FILE, None),
        (FILE, {"type": "absent"}),
        (dict(FILE, mode="0640"), SEEN),
        (dict(FILE, owner="nobody"), SEEN),
        (dict(FILE, group="nogroup"), SEEN),
        (dict(FILE, content="A=2\n"), SEEN),
        ({"path": "/etc/f", "secret_content": "key", "mode": "0644"}, SEEN),
        (FILE, SEEN_DIR),
        (DIR, SEEN),
        (FILE, dict(SEEN, type="other")),
        (dict(DIR, mode="0700"), SEEN_DIR),
    ],
    ids=[
        "unread",
        "absent",
        "mode",
        "owner",
        "group",
        "content",
        "secret",
        "dir-for-file",
        "file-for-dir",
        "fifo",
        "dir-mode",
    ],
)
def test_each_mismatch_differs(entry, seen):
    assert hr.differs(entry, seen)


def test_a_secret_is_compared_like_a_content():
    secret = {"path": "/etc/f", "secret_content": "A=1\n", "mode": "0644"}
    assert not hr.differs(secret, SEEN)


def test_pending_keeps_the_entries_that_differ_in_order():
    other = dict(FILE, path="/etc/g")
    observed = {"/etc/d": SEEN_DIR, "/etc/f": SEEN, "/etc/g": dict(SEEN, mode="0600")}
    assert hr.pending([DIR, FILE, other], observed) == [other]  # the kept directory goes


def test_without_a_read_every_entry_is_pending():
    assert hr.pending([DIR, FILE], None) == [DIR, FILE]
    assert hr.pending([DIR, FILE], {}) == [DIR, FILE]
