#!/usr/bin/python
"""Ansible module verify_node: read a node's overlay state and start its probe, in one call."""

from __future__ import annotations

import base64
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
    flanneld's C(/healthz) answer and whether the probe image exists; when it does (and
    O(start) is on), starts the probe container, inspects it, and reads docker0 (after the
    start, so the bridge has a port and shows the MTU its containers get).
  - Each part is returned in the shape of the task result it replaces (C(slurp),
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
    description: The port the probe's httpd listens on.
    type: int
    required: true
  reads:
    description:
      - Read the subnet file, routes, health and image.
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
    port: 8080
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


def start_probe(image: str, name: str, port: int) -> dict:
    run(["docker", "rm", "-f", name])
    argv = ["docker", "run", "-d", "--name", name, image, "/bin/httpd", "-f", "-p", str(port)]
    return run(argv + ["-h", "/bin"])


def node_state(p: dict) -> dict:
    out = {k: dict(SKIPPED) for k in ("subnet", "routes", "healthz", "image")}
    if p["reads"]:
        out["subnet"] = read_subnet(p["subnet_file"])
        out["routes"] = run(["ip", "-j", "-4", "route", "show"])
        out["healthz"] = read_healthz(p["healthz_url"])
        out["image"] = run(["docker", "image", "inspect", "--format", "{{.Id}}", p["image"]])
    out.update(start=dict(SKIPPED), inspect=dict(SKIPPED), docker0=dict(SKIPPED))
    have_image = not p["reads"] or out["image"]["rc"] == 0
    if p["start"] and have_image:
        out["start"] = start_probe(p["image"], p["name"], p["port"])
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
            "reads": {"type": "bool", "default": True},
            "start": {"type": "bool", "default": True},
        },
        supports_check_mode=True,
    )
    module.exit_json(changed=False, **node_state(module.params))


if __name__ == "__main__":
    main()
