"""Unit tests for library/host_files.py: directories and files in one call."""

import json
import os
import stat

import pytest

from tests.unit.loader import load, run_module

mod = load("host_files", "library/host_files.py")


def run(capsys, files, check=False, diff=False):
    args = {"files": files}
    if check:
        args["_ansible_check_mode"] = True
    if diff:
        args["_ansible_diff"] = True
    return run_module(mod, capsys, args)


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def entries(tmp_path, text="A=1\n"):
    d = tmp_path / "etc"
    return d, [
        {"path": str(d), "state": "directory", "mode": "0750"},
        {"path": str(d / "opts"), "content": text, "mode": "0640"},
    ]


def test_first_run_makes_the_directory_and_the_file(tmp_path, capsys):
    d, files = entries(tmp_path)
    out = run(capsys, files)
    assert out["rc"] == 0 and out["changed"]
    assert out["changed_paths"] == [str(d), str(d / "opts")]
    assert mode(d) == 0o750 and mode(d / "opts") == 0o640
    assert (d / "opts").read_text() == "A=1\n"
    assert [p.name for p in d.iterdir()] == ["opts"]  # no temporary file left


def test_second_run_changes_nothing(tmp_path, capsys):
    _, files = entries(tmp_path)
    run(capsys, files)
    out = run(capsys, files)
    assert not out["changed"] and out["changed_paths"] == []


def test_a_new_content_is_written_and_shown_as_a_diff(tmp_path, capsys):
    d, files = entries(tmp_path)
    run(capsys, files)
    out = run(capsys, entries(tmp_path, "A=2\n")[1], diff=True)
    assert out["changed_paths"] == [str(d / "opts")]
    assert out["diff"] == [
        {
            "before_header": str(d / "opts"),
            "after_header": str(d / "opts"),
            "before": "A=1\n",
            "after": "A=2\n",
        }
    ]
    assert (d / "opts").read_text() == "A=2\n"


def test_a_wrong_mode_alone_is_fixed_without_a_content_diff(tmp_path, capsys):
    d, files = entries(tmp_path)
    run(capsys, files)
    os.chmod(d / "opts", 0o666)
    os.chmod(d, 0o755)
    out = run(capsys, files, diff=True)
    assert out["changed_paths"] == [str(d), str(d / "opts")] and out["diff"] == []
    assert mode(d / "opts") == 0o640 and mode(d) == 0o750


def test_check_mode_reports_and_writes_nothing(tmp_path, capsys):
    d, files = entries(tmp_path)
    out = run(capsys, files, check=True)
    assert out["changed"] and out["changed_paths"] == [str(d), str(d / "opts")]
    assert not d.exists()


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"path": "relative/x", "content": "", "mode": "0644"}, "is not an absolute path"),
        ({"path": "/tmp/x", "content": "", "mode": "rw"}, "is not an octal number"),
        ({"path": "/tmp/x", "content": "", "mode": "0644", "owner": "no-such-user"}, "no user"),
    ],
)
def test_bad_entries_fail_naming_the_path(capsys, entry, message):
    out = run(capsys, [entry])
    assert out["failed"] and message in out["msg"] and entry["path"] in out["msg"]


def test_a_file_where_a_directory_is_wanted_fails(tmp_path, capsys):
    (tmp_path / "x").write_text("")
    out = run(capsys, [{"path": str(tmp_path / "x"), "state": "directory", "mode": "0755"}])
    assert out["failed"] and "is not a directory" in out["msg"]


def test_a_file_in_a_missing_directory_fails(tmp_path, capsys):
    out = run(capsys, [{"path": str(tmp_path / "no" / "f"), "content": "x", "mode": "0644"}])
    assert out["failed"] and "does not exist" in out["msg"]


def test_a_symlinked_directory_is_followed(tmp_path, capsys):
    real = tmp_path / "disk"
    real.mkdir(mode=0o700)
    os.chmod(real, 0o700)
    (tmp_path / "data").symlink_to(real)
    out = run(capsys, [{"path": str(tmp_path / "data"), "state": "directory", "mode": "0700"}])
    assert out["rc"] == 0 and not out["changed"]
    assert (tmp_path / "data").is_symlink()


SECRET = "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"


def test_a_secret_is_written_but_never_shown(tmp_path, capsys):
    key = tmp_path / "server.key"
    files = [{"path": str(key), "secret_content": SECRET, "mode": "0600"}]
    out = run(capsys, files, diff=True)
    assert out["changed_paths"] == [str(key)] and out["diff"] == []
    assert key.read_text() == SECRET and mode(key) == 0o600
    assert "not-a-real-key" not in json.dumps(out)
    files[0]["secret_content"] = SECRET.replace("real", "new")
    out = run(capsys, files, diff=True)
    assert out["changed_paths"] == [str(key)] and out["diff"] == []
    assert "not-a-new-key" not in json.dumps(out)


def test_content_and_secret_content_exclude_each_other(tmp_path, capsys):
    both = [{"path": str(tmp_path / "f"), "content": "a", "secret_content": "b", "mode": "0600"}]
    assert run(capsys, both)["failed"]
    neither = [{"path": str(tmp_path / "f"), "mode": "0600"}]
    assert run(capsys, neither)["failed"]


def test_a_refused_change_fails_before_any_entry_is_applied(tmp_path, capsys):
    ca = tmp_path / "ca.crt"
    ca.write_text("old CA\n")
    other = tmp_path / "server.crt"
    files = [
        {"path": str(other), "content": "cert\n", "mode": "0644"},
        {"path": str(ca), "content": "new CA\n", "mode": "0644", "refuse_change_msg": "another CA"},
    ]
    out = run(capsys, files)
    assert out["failed"] and out["msg"] == f"{ca}: another CA"
    assert not other.exists() and ca.read_text() == "old CA\n"


def test_a_refusal_lets_a_missing_or_equal_file_through(tmp_path, capsys):
    ca = tmp_path / "ca.crt"
    files = [{"path": str(ca), "content": "CA\n", "mode": "0644", "refuse_change_msg": "no"}]
    assert run(capsys, files)["changed_paths"] == [str(ca)]
    ca.chmod(0o600)
    out = run(capsys, files)
    assert out["changed_paths"] == [str(ca)] and mode(ca) == 0o644
