#!/usr/bin/python
"""Ansible module verify_node: read a node's overlay state and start its probe, in one call."""

from __future__ import annotations

import base64
import json
import subprocess
import urllib.error
import urllib.request

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: verify_node
short_description: Read a node's overlay state and start its probe container, in one call
description:
  - The verify play's first call on a node. Reads the flannel subnet file, the IPv4 routes,
    flanneld's C(/healthz) answer, the Docker engine's version and firewall backend, and
    whether the probe image exists; when it does (and O(start) is on), starts the probe
    container, inspects it, and reads docker0 (after the start, so the bridge has a port and
    shows the MTU its containers get).
  - The probe serves O(port) unpublished and, with O(published_port), that port too,
    published on the same host port (C(docker run -p PORT:PORT)); an old probe of that name
    (from a run with other ports) is removed first, so the probe always has these ports.
  - >-
    Each part is returned in the shape of the task result it replaces (C(slurp),
    C(command), C(uri)), so the checks in C(filter_plugins/flannel_verify.py) read them
    unchanged. A part that did not run is C({skipped: true}).
  - Changes nothing but the short-lived probe container, which the next play removes;
    so it reports C(changed=false) and runs in check mode too.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
options:
  subnet_file:
    description: flanneld's subnet file (C(subnet.env)).
    type: path
    required: true
  healthz_url:
    description: flanneld's health URL, or empty to skip that read.
    type: str
    default: ""
  image:
    description: The probe image.
    type: str
    required: true
  name:
    description: The probe container's name (an old one of that name is removed first).
    type: str
    default: flannel-probe
  port:
    description: The port the probe's httpd listens on (not published).
    type: int
    required: true
  published_port:
    description:
      - A second port the probe serves, published on the same host port; V(0) publishes none.
      - The probe then runs C(/bin/sh -c) with two C(/bin/httpd) (busybox), so the image needs
        C(/bin/sh) too.
    type: int
    default: 0
  reads:
    description:
      - Read the subnet file, routes, health, engine and image.
      - Off for a second call that only starts the probe.
    type: bool
    default: true
  start:
    description: Start the probe when the image exists.
    type: bool
    default: true
notes:
  - Needs C(ip) (iproute2) and C(docker) on the node.
"""

EXAMPLES = r"""
- name: Read the node's state and start its probe
  verify_node:
    subnet_file: /run/flannel/subnet.env
    healthz_url: http://127.0.0.1:8286/healthz
    image: flannel-probe:local
    port: 7777
    published_port: 7778
  register: verify_node_result
"""

RETURN = r"""
subnet:
  description: C({content, source}) with the file base64-encoded, or C({failed, msg}).
  returned: always
  type: dict
routes:
  description: C(ip -j -4 route show) as C({rc, stdout, stderr}).
  returned: always
  type: dict
healthz:
  description:
    - C({status, msg}), status -1 when there was no answer.
    - C({skipped}) without O(healthz_url).
  returned: always
  type: dict
engine:
  description:
    - The Docker engine, from C(docker info --format '{{json .}}').
    - C({skipped}) without O(reads).
  returned: always
  type: dict
  contains:
    version:
      description: The engine's version (C(ServerVersion)), V(unknown) when docker info failed.
      type: str
    firewall_backend:
      description:
        - The driver of the engine's C(FirewallBackend) (C(iptables), C(nftables), ...);
          V(iptables (not reported)) when docker info has none (an older engine or CLI);
          V(unknown) when docker info failed.
      type: str
    error:
      description: Why docker info gave no version, else empty.
      type: str
image:
  description: C(docker image inspect) of the image as C({rc, stdout, stderr}).
  returned: always
  type: dict
start:
  description: C(docker run -d) of the probe as C({rc, stdout, stderr}), or C({skipped}).
  returned: always
  type: dict
inspect:
  description: C(docker inspect) of the probe as C({rc, stdout, stderr}), or C({skipped}).
  returned: always
  type: dict
docker0:
  description: C(ip -j -4 addr show dev docker0) as C({rc, stdout, stderr}), or C({skipped}).
  returned: always
  type: dict
"""

SKIPPED = {"skipped": True}
# What an engine (or docker CLI) too old to report its FirewallBackend has: iptables.
NOT_REPORTED = "iptables (not reported)"


def run(argv: list[str], timeout: int = 60) -> dict:
    """A command's result as a command task registers it."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return {"rc": 127, "stdout": "", "stderr": f"{argv[0]}: not found"}
    except subprocess.TimeoutExpired:
        return {"rc": 124, "stdout": "", "stderr": f"{argv[0]}: timed out after {timeout} s"}
    return {
        "rc": proc.returncode,
        "stdout": proc.stdout.rstrip("\n"),
        "stderr": proc.stderr.rstrip("\n"),
    }


def read_subnet(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as err:
        return {"failed": True, "msg": f"file not found: {path}" if err.errno == 2 else str(err)}
    return {"content": base64.b64encode(data).decode(), "encoding": "base64", "source": path}


def read_healthz(url: str) -> dict:
    if not url:
        return dict(SKIPPED)
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - a local URL
            return {"status": answer.status, "msg": f"OK ({answer.status})"}
    except urllib.error.HTTPError as err:
        return {"status": err.code, "msg": f"HTTP Error {err.code}: {err.reason}"}
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return {"status": -1, "msg": f"Status code was -1 and not [200]: {reason}"}


def engine_info(result: dict) -> dict:
    """``docker info --format '{{json .}}'`` -> {version, firewall_backend, error}."""
    try:
        data = json.loads(result["stdout"] or "{}")
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    version = str(data.get("ServerVersion") or "")
    if result["rc"] != 0 or not version:
        lines = [line.strip() for line in result["stderr"].splitlines() if line.strip()]
        lines += [str(e) for e in data.get("ServerErrors") or []]
        why = lines[-1][:200] if lines else f"rc={result['rc']}, no ServerVersion"
        return {"version": "unknown", "firewall_backend": "unknown", "error": f"docker info: {why}"}
    firewall = data.get("FirewallBackend")
    driver = firewall.get("Driver") if isinstance(firewall, dict) else None
    return {"version": version, "firewall_backend": str(driver or NOT_REPORTED), "error": ""}


def probe_argv(image: str, name: str, port: int, published_port: int = 0) -> list[str]:
    """``docker run`` of the probe: busybox httpd on ``port``; with ``published_port``, a
    second one on that port, published on the same host port. The first httpd (without
    -f) goes to the background once it listens; the second becomes the container's PID 1."""
    argv = ["docker", "run", "-d", "--name", name]
    if not published_port:
        return [*argv, image, "/bin/httpd", "-f", "-p", str(port), "-h", "/bin"]
    script = f"/bin/httpd -p {port} -h /bin && exec /bin/httpd -f -p {published_port} -h /bin"
    return [*argv, "-p", f"{published_port}:{published_port}", image, "/bin/sh", "-c", script]


def start_probe(image: str, name: str, port: int, published_port: int = 0) -> dict:
    """A fresh probe: one left by an earlier run (maybe with other ports) is removed."""
    run(["docker", "rm", "-f", name])
    return run(probe_argv(image, name, port, published_port))


def node_state(p: dict) -> dict:
    out = {k: dict(SKIPPED) for k in ("subnet", "routes", "healthz", "engine", "image")}
    if p["reads"]:
        out["subnet"] = read_subnet(p["subnet_file"])
        out["routes"] = run(["ip", "-j", "-4", "route", "show"])
        out["healthz"] = read_healthz(p["healthz_url"])
        out["engine"] = engine_info(run(["docker", "info", "--format", "{{json .}}"]))
        out["image"] = run(["docker", "image", "inspect", "--format", "{{.Id}}", p["image"]])
    out.update(start=dict(SKIPPED), inspect=dict(SKIPPED), docker0=dict(SKIPPED))
    have_image = not p["reads"] or out["image"]["rc"] == 0
    if p["start"] and have_image:
        out["start"] = start_probe(p["image"], p["name"], p["port"], p["published_port"])
        if out["start"]["rc"] == 0:
            out["inspect"] = run(["docker", "inspect", p["name"]])
    if p["start"] or p["reads"]:
        out["docker0"] = run(["ip", "-j", "-4", "addr", "show", "dev", "docker0"])
    return out


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "subnet_file": {"type": "path", "required": True},
            "healthz_url": {"type": "str", "default": ""},
            "image": {"type": "str", "required": True},
            "name": {"type": "str", "default": "flannel-probe"},
            "port": {"type": "int", "required": True},
            "published_port": {"type": "int", "default": 0},
            "reads": {"type": "bool", "default": True},
            "start": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **node_state(module.params))


if __name__ == "__main__":
    main()
