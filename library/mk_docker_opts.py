#!/usr/bin/python
"""Ansible module mk_docker_opts: flannel's mk-docker-opts.sh, ported to Python."""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.flannel_applied_state import check
from ansible.module_utils.flannel_docker_opts import DockerOptsError, generate

DOCUMENTATION = r"""
---
module: mk_docker_opts
short_description: Write Docker daemon options derived from flannel's subnet.env
description:
  - A Python port of flannel's C(mk-docker-opts.sh). It reads the subnet file that flanneld
    writes and writes a Docker environment file holding C(--bip), C(--ip-masq) and C(--mtu).
  - The output matches upstream byte for byte. The individual variables C(DOCKER_OPT_BIP),
    C(DOCKER_OPT_IPMASQ) and C(DOCKER_OPT_MTU) come first, in that order, one C(KEY="VALUE")
    line each. The combined variable follows; its value is every option preceded by a space,
    e.g. C(DOCKER_OPTS=" --bip=10.1.74.1/24 --ip-masq=true --mtu=1472").
    Every line, the last included, ends in a newline.
  - C(FLANNEL_IPMASQ) is inverted on purpose. When flanneld masquerades (C(true)) Docker gets
    C(--ip-masq=false), and the reverse.
  - Unlike upstream, bad input is an error that names the file and the key, and nothing is
    written. This covers a missing subnet file, a missing or malformed C(FLANNEL_SUBNET)
    (an IPv4 address with an explicit prefix length), a C(FLANNEL_MTU) outside 68..65535 and a
    C(FLANNEL_IPMASQ) other than C(true) or C(false). A missing or empty C(FLANNEL_MTU) or
    C(FLANNEL_IPMASQ) drops that option, as upstream does.
  - Nothing is taken from the environment of the process, unlike upstream, which prepends an
    inherited value of the combined key.
  - The destination is written atomically with mode C(0644), and only when its content
    changes.
  - The same logic runs on hosts without Ansible as
    C(python3 flannel_docker_opts.py [-f FILE] [-d FILE] [-i] [-c] [-k KEY] [-m]
    [--no-check-routes]), e.g. from flanneld's systemd unit.
version_added: "0.1.0"
author:
  - flannel-ansible maintainers
options:
  subnet_file:
    description:
      - Absolute path of the subnet file written by flanneld (upstream C(-f)).
      - Required, unlike upstream's C(-f). The toolkit's path is the shared setting
        C(flannel_subnet_file) (roles/flannel_common), so it is passed, not assumed.
    type: path
    required: true
  dest:
    description:
      - Absolute path of the Docker environment file to write (upstream C(-d)).
      - Must not be the subnet file.
      - Its directory must exist.
    type: path
    default: /run/docker_opts.env
  individual_vars:
    description:
      - Write each option as its own C(DOCKER_OPT_*) variable (upstream C(-i)).
      - At least one of O(individual_vars) and O(combined_vars) must be true.
    type: bool
    default: true
  combined_vars:
    description:
      - Write all options into one variable named O(combined_key) (upstream C(-c)).
    type: bool
    default: true
  combined_key:
    description:
      - Name of the combined variable (upstream C(-k)).
      - Must be a shell variable name, C([A-Za-z_][A-Za-z0-9_]*).
    type: str
    default: DOCKER_OPTS
  ip_masq:
    description:
      - Whether to write the C(--ip-masq) option. V(false) is upstream C(-m).
      - C(FLANNEL_IPMASQ) is validated either way.
    type: bool
    default: true
  check_routes:
    description:
      - Fail if the routing table (C(ip -4 route show)) already has a C(via) route whose
        destination is exactly the subnet's network, e.g. C(10.1.74.0/24) for
        C(FLANNEL_SUBNET=10.1.74.1/24).
      - Upstream's unanchored grep would also match C(110.1.74.0/24); this check does not.
      - The check runs before writing, so a conflict leaves O(dest) untouched.
    type: bool
    default: true
  applied:
    description:
      - Also check, in the same call, the daemon that runs with these options against the
        record of its last start, as the C(applied_state) module does with C(state=check).
        The options just derived are its C(required_args), so each must be in the
        running daemon's argv. The result is returned as RV(applied).
      - Keys C(service) and C(record) are required; C(files) (input name to path) and
        C(adopt) are optional.
      - The check reads the files after O(dest) is written, so a changed options file counts.
        In check mode nothing is written and the check sees the file as it is.
    type: dict
attributes:
  check_mode:
    support: full
    description: Writes nothing and reports whether O(dest) would change.
  diff_mode:
    support: full
    description: Returns the old and new content of O(dest).
notes:
  - Needs the C(ip) command on the target when O(check_routes=true).
seealso:
  - name: flannel's mk-docker-opts.sh
    description: The upstream script this module ports.
    link: https://github.com/flannel-io/flannel/blob/master/dist/mk-docker-opts.sh
"""

EXAMPLES = r"""
- name: Write /run/docker_opts.env the way mk-docker-opts.sh does
  mk_docker_opts:
    subnet_file: "{{ flannel_subnet_file }}"

- name: One combined variable for a systemd drop-in, without the route check
  mk_docker_opts:
    subnet_file: "{{ flannel_subnet_file }}"
    dest: "{{ flannel_docker_opts_file }}"
    individual_vars: false
    combined_key: DOCKER_NETWORK_OPTIONS
    check_routes: false
  register: docker_opts

- name: Show the options Docker will get
  ansible.builtin.debug:
    msg: "dockerd{{ docker_opts.docker_opts }}"

- name: Old Docker without --ip-masq (upstream -m)
  mk_docker_opts:
    ip_masq: false
"""

RETURN = r"""
docker_opts:
  description:
    - The combined value exactly as upstream builds it, every option preceded by a space.
    - Returned even when O(combined_vars=false).
  returned: success
  type: str
  sample: " --bip=10.1.74.1/24 --ip-masq=true --mtu=1472"
bip:
  description: The C(--bip) option as written.
  returned: success
  type: str
  sample: "--bip=10.1.74.1/24"
mtu:
  description: The C(--mtu) option as written; null when C(FLANNEL_MTU) is missing.
  returned: success
  type: str
  sample: "--mtu=1472"
ip_masq:
  description:
    - The C(--ip-masq) option as written; null when O(ip_masq=false) or when
      C(FLANNEL_IPMASQ) is missing.
  returned: success
  type: str
  sample: "--ip-masq=true"
applied:
  description:
    - Only with O(applied). What C(applied_state) returns for C(state=check) - start,
      restart, reasons, service, digests, changed_inputs, args_missing, need_daemon_reload,
      adopt.
  returned: when O(applied) is set
  type: dict
dest:
  description: The path of the Docker environment file.
  returned: success
  type: str
  sample: /run/docker_opts.env
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "subnet_file": {"type": "path", "required": True},
            "dest": {"type": "path", "default": "/run/docker_opts.env"},
            "individual_vars": {"type": "bool", "default": True},
            "combined_vars": {"type": "bool", "default": True},
            "combined_key": {"type": "str", "default": "DOCKER_OPTS"},
            "ip_masq": {"type": "bool", "default": True},
            "check_routes": {"type": "bool", "default": True},
            "applied": {"type": "dict"},
        },
        supports_check_mode=True,
    )
    params = module.params
    applied = params["applied"]
    missing = [k for k in ("service", "record") if applied is not None and not applied.get(k)]
    if missing:
        module.fail_json(msg=f"mk_docker_opts: applied needs {' and '.join(missing)}")
    try:
        outcome = generate(
            subnet_file=params["subnet_file"],
            dest=params["dest"],
            individual=params["individual_vars"],
            combined=params["combined_vars"],
            combined_key=params["combined_key"],
            ip_masq=params["ip_masq"],
            routes=params["check_routes"],
            write=not module.check_mode,
        )
    except DockerOptsError as exc:
        module.fail_json(msg=exc.message)

    result = {
        "changed": outcome.changed,
        "dest": outcome.dest,
        "docker_opts": outcome.opts.combined(),
        "bip": outcome.opts.bip,
        "mtu": outcome.opts.mtu,
        "ip_masq": outcome.opts.ip_masq,
    }
    if applied:
        try:
            result["applied"] = check(
                str(applied["service"]),
                str(applied["record"]),
                applied.get("files") or {},
                {},
                required_args=outcome.opts.combined().split(),
                adopt=bool(applied.get("adopt", False)),
            )
        except ValueError as exc:
            module.fail_json(msg=f"mk_docker_opts: applied: {exc}")
    if module._diff:
        result["diff"] = {
            "before_header": outcome.dest,
            "after_header": outcome.dest,
            "before": outcome.before or "",
            "after": outcome.after,
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
