#!/usr/bin/python
"""Ansible module etcd_pki: the etcd CAs and certificates on the controller, in one call."""

from __future__ import annotations

import os
import shutil

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_pki import (
    Outcome,
    PkiError,
    ensure_ca,
    ensure_cert,
    normalise_specs,
)

DOCUMENTATION = r"""
---
module: etcd_pki
short_description: Keep the etcd CAs and the certificates they sign in a directory on the controller
description:
  - Makes, in O(path), the CA C(ca) (unless O(ca_cert_src) supplies it) and the client CA
    O(client_ca_name), then one key and certificate per entry of O(certs). ECC P-256 keys,
    SHA-256 signatures.
  - A CA is made only when its key and certificate are both missing, and never replaced.
  - A key is made when missing and kept otherwise. A certificate is re-signed when it is missing,
    does not hold its key, was not signed by its CA, has another common name, other subject
    alternative names or other extended key usages than asked for, or expires within
    O(renew_days).
  - Runs where the files are, normally the controller (C(delegate_to=localhost), C(run_once)).
    Returns names and dates only, never key material.
version_added: "0.6.0"
author:
  - flannel-ansible maintainers
options:
  path:
    description: The PKI directory (created with mode C(0700)).
    type: path
    required: true
  cluster_name:
    description:
      - Names the CAs, C(<cluster_name> etcd CA) and
        C(<cluster_name> etcd client CA (flannel nodes)).
    type: str
    required: true
  client_ca_name:
    description: File name (without extension) of the client CA.
    type: str
    default: client-ca
  ca_cert_src:
    description:
      - A CA certificate to use instead of making one; copied to C(<path>/ca.crt).
      - Needs O(ca_key_src).
    type: path
  ca_key_src:
    description: The key of O(ca_cert_src); copied to C(<path>/ca.key) with mode C(0600).
    type: path
  ca_valid_days:
    description: Lifetime of a CA the module makes.
    type: int
    default: 3650
  cert_valid_days:
    description: Lifetime of a certificate the module signs.
    type: int
    default: 730
  renew_days:
    description: Re-sign a certificate that expires within this many days; report a CA that does.
    type: int
    default: 30
  certs:
    description: The certificates to keep.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: File name without extension (C(<name>.key), C(<name>.crt)).
        type: str
        required: true
      common_name:
        description: The subject's CN. Default O(certs[].name).
        type: str
      sans:
        description: Subject alternative names as C(IP:<address>) or C(DNS:<name>).
        type: list
        elements: str
        default: []
      usages:
        description: Extended key usages.
        type: list
        elements: str
        choices: [serverAuth, clientAuth]
        default: [clientAuth]
      ca:
        description: The CA that signs it, C(ca) or O(client_ca_name). Default C(ca).
        type: str
"""

EXAMPLES = r"""
- name: Keep the etcd PKI on the controller
  etcd_pki:
    path: "{{ playbook_dir }}/.etcd-pki/etcd"
    cluster_name: etcd
    certs:
      - name: n1-server
        common_name: n1
        sans: ["IP:10.0.0.11", "DNS:n1"]
        usages: [serverAuth, clientAuth]
      - {name: flanneld-n2, ca: client-ca}
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
created:
  description: CAs and keys that were made (or would be, in check mode).
  returned: always
  type: list
  elements: str
signed:
  description:
    - Certificates (re)signed, each with its reason,
      e.g. C(missing) or C(expires within 30 days).
  returned: always
  type: dict
ca_not_after:
  description: Each CA's expiry, as C(YYYYMMDDHHMMSSZ).
  returned: always
  type: dict
ca_renew_due:
  description: CAs that expire within O(renew_days). The module does not replace them.
  returned: always
  type: list
  elements: str
"""

CERT_OPTIONS = {
    "name": {"type": "str", "required": True},
    "common_name": {"type": "str"},
    "sans": {"type": "list", "elements": "str", "default": []},
    "usages": {
        "type": "list",
        "elements": "str",
        "choices": ["serverAuth", "clientAuth"],
        "default": ["clientAuth"],
    },
    "ca": {"type": "str"},
}


def copy_supplied_ca(module: AnsibleModule, path: str, out: Outcome) -> None:
    """Copy the operator's CA into the PKI directory where the copy differs."""
    for src, dest, mode in (
        (module.params["ca_cert_src"], "ca.crt", 0o644),
        (module.params["ca_key_src"], "ca.key", 0o600),
    ):
        target = os.path.join(path, dest)
        with open(src, "rb") as handle:
            want = handle.read()
        have = None
        if os.path.exists(target):
            with open(target, "rb") as handle:
                have = handle.read()
        if have == want and (os.stat(target).st_mode & 0o777) == mode:
            continue
        out.created.append(dest)
        if not module.check_mode:
            shutil.copyfile(src, target)
            os.chmod(target, mode)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "cluster_name": {"type": "str", "required": True},
            "client_ca_name": {"type": "str", "default": "client-ca"},
            "ca_cert_src": {"type": "path"},
            "ca_key_src": {"type": "path", "no_log": True},
            "ca_valid_days": {"type": "int", "default": 3650},
            "cert_valid_days": {"type": "int", "default": 730},
            "renew_days": {"type": "int", "default": 30},
            "certs": {"type": "list", "elements": "dict", "default": [], "options": CERT_OPTIONS},
        },
        required_together=[["ca_cert_src", "ca_key_src"]],
        supports_check_mode=True,
    )
    p = module.params
    path, check, out = p["path"], module.check_mode, Outcome()
    try:
        if not os.path.isdir(path):
            out.created.append(path)
            if check:
                module.exit_json(
                    changed=True, created=out.created, signed={}, ca_not_after={}, ca_renew_due=[]
                )
            os.makedirs(path, mode=0o700)
        if p["ca_cert_src"]:
            copy_supplied_ca(module, path, out)
        cas = {
            "ca": ensure_ca(
                path,
                "ca",
                f"{p['cluster_name']} etcd CA",
                p["ca_valid_days"],
                p["renew_days"],
                out,
                check,
            ),
            p["client_ca_name"]: ensure_ca(
                path,
                p["client_ca_name"],
                f"{p['cluster_name']} etcd client CA (flannel nodes)",
                p["ca_valid_days"],
                p["renew_days"],
                out,
                check,
            ),
        }
        for spec in normalise_specs(p["certs"], list(cas)):
            ensure_cert(
                path, spec, cas[spec["ca"]], p["cert_valid_days"], p["renew_days"], out, check
            )
    except (PkiError, OSError) as err:
        module.fail_json(msg=f"etcd PKI in {path}: {err}")
    module.exit_json(
        changed=out.changed,
        created=out.created,
        signed=out.signed,
        ca_not_after=out.ca_not_after,
        ca_renew_due=out.ca_renew_due,
    )


if __name__ == "__main__":
    main()
