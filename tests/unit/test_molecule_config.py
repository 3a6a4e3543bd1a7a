"""Molecule writes its own ansible.cfg, so the project's plugin paths must reach it through
the provisioner's environment (.config/molecule/config.yml); a path missing there breaks
playbooks that are not beside the plugin directory (playbooks/*.yml) only under molecule."""

import configparser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ENV_NAMES = {
    "roles_path": "ANSIBLE_ROLES_PATH",
    "library": "ANSIBLE_LIBRARY",
    "module_utils": "ANSIBLE_MODULE_UTILS",
    "filter_plugins": "ANSIBLE_FILTER_PLUGINS",
    "action_plugins": "ANSIBLE_ACTION_PLUGINS",
    "callback_plugins": "ANSIBLE_CALLBACK_PLUGINS",
}


def test_every_plugin_path_of_ansible_cfg_is_in_the_molecule_env():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    paths = {k: v for k, v in cfg["defaults"].items() if k in ENV_NAMES}
    assert {"library", "filter_plugins", "action_plugins", "callback_plugins"} <= set(paths)
    env = yaml.safe_load((ROOT / ".config/molecule/config.yml").read_text())["provisioner"]["env"]
    for key, path in paths.items():
        assert env.get(ENV_NAMES[key]) == "${MOLECULE_PROJECT_DIRECTORY}/" + path, key
        assert (ROOT / path).is_dir(), path
