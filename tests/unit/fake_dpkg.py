"""A fake `dpkg-query` for the host-read tests: a shell script put first on PATH that
prints the given lines and records its arguments (the shell's builtins only)."""

import os
from pathlib import Path


def fake_dpkg_query(tmp_path: Path, monkeypatch, lines: list[str]) -> Path:
    """Put a dpkg-query printing `lines` first on PATH; the file its argv is written to."""
    bindir = tmp_path / "fake-bin"
    bindir.mkdir(exist_ok=True)
    argv_file = tmp_path / "dpkg-query.argv"
    body = "".join(f"printf '%s\\n' '{line}'\n" for line in lines)
    script = bindir / "dpkg-query"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > '{argv_file}'\n{body}")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    return argv_file


def no_dpkg_query(tmp_path: Path, monkeypatch) -> None:
    """A PATH with no dpkg-query on it (an empty directory)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(empty))
