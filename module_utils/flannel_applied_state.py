"""What a daemon was started with, and whether it must restart to pick up its inputs.

A role writes a daemon's inputs (binary, unit, options file, certificates, the
network config it reads at start), then restarts the daemon. If the run dies in
between, the daemon keeps running on the old inputs and nothing in the next run's
memory says so. This module closes that gap: after every successful (re)start the
role records, on the host, a digest of each input; a later run compares the files
as they are with that record, so a restart that a killed run left undone is still
owed, and one that was done is not done again.

Stdlib only, and flannel_host_read (a relative import, as it works both in this project
and in the built collection). It runs inside the Ansible modules on the
host and in unit tests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile

from .flannel_host_read import file_sha256

ABSENT = "absent"
RECORD_VERSION = 1
SERVICE_PROPERTIES = (
    "ActiveState",
    "SubState",
    "MainPID",
    "NeedDaemonReload",
    "LoadState",
    "UnitFileState",
)


def digest_file(path: str) -> str:
    """sha256 of a file's bytes, or ABSENT when there is no such file."""
    try:
        return "sha256:" + file_sha256(path)
    except FileNotFoundError:
        return ABSENT


def digest_value(value: object) -> str:
    """sha256 of a value as canonical JSON, so key order and spacing do not count."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def current_digests(files: dict[str, str], values: dict[str, object]) -> dict[str, str]:
    """One digest per named input: files by content, values by canonical JSON."""
    clash = sorted(set(files) & set(values))
    if clash:
        raise ValueError(f"input names used for both a file and a value: {', '.join(clash)}")
    out = {name: digest_file(path) for name, path in files.items()}
    out.update({name: digest_value(value) for name, value in values.items()})
    return out


def read_record(path: str) -> dict[str, str] | None:
    """The recorded digests, or None when there is no (readable) record."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (FileNotFoundError, ValueError):
        return None
    inputs = data.get("inputs") if isinstance(data, dict) else None
    if not isinstance(inputs, dict):
        return None
    return {str(k): str(v) for k, v in inputs.items()}


def render_record(digests: dict[str, str]) -> str:
    return (
        json.dumps({"version": RECORD_VERSION, "inputs": digests}, indent=2, sort_keys=True) + "\n"
    )


def write_record(path: str, digests: dict[str, str]) -> bool:
    """Write the record atomically (mode 0600); True when its content changed."""
    text = render_record(digests)
    try:
        with open(path, encoding="utf-8") as fh:
            if fh.read() == text:
                return False
    except FileNotFoundError:
        pass
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".applied-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def changed_inputs(record: dict[str, str] | None, current: dict[str, str]) -> list[str]:
    """Names of the inputs that differ from the record (added and removed ones too).

    Without a record every input counts as changed: nobody knows what the running
    daemon was started with.
    """
    if record is None:
        return sorted(current)
    names = set(record) | set(current)
    return sorted(n for n in names if record.get(n) != current.get(n))


def decide(
    record: dict[str, str] | None,
    current: dict[str, str],
    service: dict[str, str],
    *,
    runtime_files_missing: list[str] = (),
    args_missing: list[str] = (),
    adopt: bool = False,
    coordinated_inputs: list[str] = (),
) -> dict[str, object]:
    """Whether the daemon must be started or restarted, and why.

    - not active: it must start (whatever the record says); starting applies the inputs.
    - active: it restarts when an input differs from the record, when a file it writes at
      start (`runtime_files_missing`) is gone, or when its process lacks an argument it must
      run with (`args_missing`).
    - active, no record: nobody knows what it was started with, so it restarts; with
      `adopt` and no argument missing, the current inputs are taken as applied instead
      (`adopt` in the result: the caller records them).
    - `coordinated`: the restart is due to one of `coordinated_inputs` changing against an
      existing record (e.g. the network config, which every node must switch together).
    """
    active = service.get("ActiveState") == "active"
    changed = changed_inputs(record, current)
    result = {
        "active": active,
        "start": False,
        "restart": False,
        "adopt": False,
        "coordinated": False,
        "reasons": [],
    }
    if not active:
        result.update(
            start=True, reasons=[f"not running ({service.get('ActiveState') or 'unknown'})"]
        )
        return result
    if record is None and adopt and not args_missing and not runtime_files_missing:
        result["adopt"] = True
        return result
    reasons = (
        ["no record of what it was started with"]
        if record is None
        else [f"{name} changed" for name in changed]
    )
    reasons += [f"{path} is missing" for path in runtime_files_missing]
    reasons += [f"runs without {arg}" for arg in args_missing]
    result.update(
        restart=bool(reasons),
        reasons=reasons,
        coordinated=record is not None and any(name in changed for name in coordinated_inputs),
    )
    return result


def missing_args(argv: list[str], required: list[str]) -> list[str]:
    """The required arguments that the process's argv does not contain, in order."""
    return [arg for arg in required if arg not in argv]


def process_argv(pid: str | int) -> list[str]:
    """A process's argv from /proc, or [] when there is no such process."""
    try:
        pid = int(pid)
    except (TypeError, ValueError):
        return []
    if pid <= 0:
        return []
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def parse_show(text: str) -> dict[str, str]:
    """`systemctl show -p A -p B` output (A=x lines) as a dict."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


def service_state(unit: str) -> dict[str, str]:
    """The unit's state as systemd reports it; empty values when systemctl is missing."""
    argv = ["systemctl", "show", unit] + [f"--property={p}" for p in SERVICE_PROPERTIES]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return {p: "" for p in SERVICE_PROPERTIES}
    state = {p: "" for p in SERVICE_PROPERTIES}
    state.update(parse_show(proc.stdout))
    return state


def check(
    service: str,
    record_path: str,
    files: dict[str, str],
    values: dict[str, object],
    runtime_files: list[str] | None = None,
    required_args: list[str] | None = None,
    adopt: bool = False,
    coordinated_inputs: list[str] | None = None,
) -> dict:
    """The whole check of a daemon against its record, as the applied_state module and
    host_read's ``applied`` option return it. Raises ValueError on clashing input names."""
    digests = current_digests({k: str(v) for k, v in files.items()}, values)
    record = read_record(record_path)
    unit = service_state(service)
    result: dict = {
        "active": unit.get("ActiveState") == "active",
        "need_daemon_reload": unit.get("NeedDaemonReload") == "yes",
        "service": unit,
        "digests": digests,
        "changed_inputs": changed_inputs(record, digests),
    }
    files_missing = [f for f in runtime_files or [] if not os.path.exists(f)]
    args_missing = (
        missing_args(process_argv(unit.get("MainPID")), list(required_args or []))
        if result["active"]
        else []
    )
    result["args_missing"] = args_missing
    result.update(
        decide(
            record,
            digests,
            unit,
            runtime_files_missing=files_missing,
            args_missing=args_missing,
            adopt=adopt,
            coordinated_inputs=list(coordinated_inputs or []),
        )
    )
    return result
