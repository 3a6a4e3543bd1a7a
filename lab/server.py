"""The controller's HTTP server of the hosts' apt repositories."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from lab.config import PROJECT, Config, LabError
from lab.proc import read_pid


def serve(directory: Path, bind: str, port: int) -> None:
    """Serve the apt repositories read-only over HTTP (runs as a detached process)."""
    import functools
    import http.server

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

    handler = functools.partial(Quiet, directory=str(directory))
    with http.server.ThreadingHTTPServer((bind, port), handler) as httpd:
        httpd.serve_forever()


def ensure_server(cfg: Config) -> None:
    pidfile = cfg.state / "http.pid"
    if read_pid(pidfile):
        return
    # Serve through a link in the state dir, so the server's argv names the state dir
    # and `down` finds it even without the pid file.
    repo_root = cfg.state / "repo"
    if not repo_root.is_symlink():
        repo_root.symlink_to(cfg.cache / "repo")
    proc = subprocess.Popen(
        [sys.executable, "-m", "lab", "_serve", str(repo_root), str(cfg.gateway), str(cfg.port)],
        cwd=PROJECT,
        env=dict(os.environ, PYTHONPATH=str(PROJECT), FLAB_STATE=str(cfg.state)),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(cfg.state / "http.log", "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    pidfile.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection((str(cfg.gateway), cfg.port), timeout=1),
        ):
            return
        if proc.poll() is not None:
            raise LabError(
                f"apt repository server on {cfg.gateway}:{cfg.port} exited: "
                + (cfg.state / "http.log").read_text()[-500:]
            )
        time.sleep(0.2)
    raise LabError(f"apt repository server on {cfg.gateway}:{cfg.port} did not start")
