#!/usr/bin/python
"""Ansible module etcd_pki: the etcd CAs and certificates on the controller, in one call."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_pki import (
    ARGUMENT_SPEC,
    REQUIRED_TOGETHER,
    PkiError,
    keep,
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


def main() -> None:
    module = AnsibleModule(
        argument_spec=ARGUMENT_SPEC,
        required_together=REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    try:
        result = keep(module.params, module.check_mode)
    except (PkiError, OSError) as err:
        module.fail_json(msg=f"etcd PKI in {module.params['path']}: {err}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
