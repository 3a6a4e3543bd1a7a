"""module_utils/flannel_host_read.py's `pending` agrees with library/host_files.py: what
host_files applied is not pending, and after a change on disk exactly what host_files would
change (asked in check mode) is."""

import grp
import os
import pwd

import pytest

from tests.unit.loader import load, run_module, use_project_module_utils

use_project_module_utils()
from ansible.module_utils import flannel_host_read as hr  # noqa: E402

host_files = load("host_files", "library/host_files.py")

# the current user's names, so it runs as any user
OWNER = pwd.getpwuid(os.geteuid()).pw_name
GROUP = grp.getgrgid(os.getegid()).gr_name


def layout(tmp_path):
    d = tmp_path / "etc"
    own = {"owner": OWNER, "group": GROUP}
    return [
        {"path": str(d), "state": "directory", "mode": "0750", **own},
        {"path": str(d / "opts"), "content": "A=1\n", "mode": "0640", **own},
        {"path": str(d / "key"), "secret_content": "s3cret\n", "mode": "0600", **own},
        {"path": str(d / "sub"), "state": "directory", "mode": "0755", **own},
        {"path": str(d / "sub" / "unit"), "content": "[Unit]\n", "mode": "0644", **own},
    ]


def apply(capsys, entries, check=False):
    args = {"files": entries, "_ansible_check_mode": check}
    out = run_module(host_files, capsys, args)
    assert out["rc"] == 0, out
    return out["changed_paths"]


def pending_paths(entries):
    observed = hr.stat_paths([e["path"] for e in entries])
    return [e["path"] for e in hr.pending(entries, observed)]


def test_what_host_files_applied_is_not_pending(tmp_path, capsys):
    entries = layout(tmp_path)
    assert pending_paths(entries) == [e["path"] for e in entries]
    assert apply(capsys, entries) == [e["path"] for e in entries]
    assert pending_paths(entries) == [] and apply(capsys, entries) == []


def _content(etc):
    (etc / "opts").write_text("A=2\n")


def _secret(etc):
    (etc / "key").write_text("other\n")


def _mode(etc):
    (etc / "sub" / "unit").chmod(0o666)


def _dir_mode(etc):
    (etc / "sub").chmod(0o700)


def _removed(etc):
    (etc / "opts").unlink()


def _same_through_a_link(etc):
    (etc / "real-unit").write_text("[Unit]\n")
    (etc / "real-unit").chmod(0o644)
    (etc / "sub" / "unit").unlink()
    (etc / "sub" / "unit").symlink_to(etc / "real-unit")


def _owner(etc):
    os.chown(etc / "opts", 54321, -1)


@pytest.mark.parametrize(
    "change, expected",
    [
        (_content, ["opts"]),
        (_secret, ["key"]),
        (_mode, ["sub/unit"]),
        (_dir_mode, ["sub"]),
        (_removed, ["opts"]),
        (_same_through_a_link, []),
        pytest.param(
            _owner,
            ["opts"],
            marks=pytest.mark.skipif(os.geteuid() != 0, reason="chown needs root"),
        ),
    ],
)
def test_after_a_change_on_disk_exactly_that_entry_is_pending(tmp_path, capsys, change, expected):
    entries = layout(tmp_path)
    apply(capsys, entries)
    change(tmp_path / "etc")
    assert pending_paths(entries) == [str(tmp_path / "etc" / p) for p in expected]
    # host_files, asked in check mode, would change the same paths
    assert apply(capsys, entries, check=True) == pending_paths(entries)


def test_pending_entries_alone_converge_the_host(tmp_path, capsys):
    entries = layout(tmp_path)
    apply(capsys, entries)
    _content(tmp_path / "etc")
    _dir_mode(tmp_path / "etc")
    observed = hr.stat_paths([e["path"] for e in entries])
    apply(capsys, hr.pending(entries, observed))
    assert pending_paths(entries) == [] and apply(capsys, entries, check=True) == []
