"""What the preflight tests share: the filter file loaded the way Ansible loads it, the
package it imported (module_utils/flannel_preflight), and shorthands for a run."""

from tests.lab_helpers import shared_defaults
from tests.unit.loader import load

fp = load("flannel_plan", "filter_plugins/flannel_plan.py")
pf = fp.preflight

ETCD = {"e1": "10.0.0.1", "e2": "10.0.0.2", "e3": "10.0.0.3"}
NODES = {"n1": "10.0.0.1", "n2": "10.0.0.2", "n3": "10.0.0.3"}
VXLAN = {"Type": "vxlan"}
# The network config's one default: the shared setting of roles/flannel_common, which
# the preflight role passes (the filter has no default of its own).
DEFAULT_CONFIG = shared_defaults()["flannel_network_config"]


def run(config=None, etcd=None, nodes=None, **kwargs):
    inventory = {
        "etcd": ETCD if etcd is None else etcd,
        "nodes": NODES if nodes is None else nodes,
    }
    config = DEFAULT_CONFIG if config is None else config
    return fp.flannel_preflight(inventory, config=config, **kwargs)


def net(**keys):
    """A network config: the default plus/minus keys (None removes a key)."""
    config = {"Network": "10.244.0.0/16", "SubnetLen": 24, "Backend": dict(VXLAN)}
    for key, value in keys.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def one_error(result, start):
    found = [e for e in result["errors"] if e.startswith(start)]
    assert len(found) == 1, (start, result["errors"])
    return found[0]


def no_errors(result):
    assert result["errors"] == [], result["errors"]
