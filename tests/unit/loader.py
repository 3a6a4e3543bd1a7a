"""Loads the project's plugins, modules and scripts for unit tests by their file paths,
the way Ansible finds them (they are not an installed package)."""

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import ansible.module_utils
import pytest
from ansible.module_utils.testing import patch_module_args

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, relpath: str) -> ModuleType:
    """Import ROOT/relpath as module `name` (registered in sys.modules, as dataclasses need)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / relpath)
    assert spec and spec.loader, relpath
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def use_project_module_utils() -> None:
    """Make `ansible.module_utils.<name>` find module_utils/, as ansible.cfg arranges."""
    path = str(ROOT / "module_utils")
    if path not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(path)


def run_module(module: ModuleType, capsys: Any, args: dict[str, Any]) -> dict[str, Any]:
    """Run an Ansible module's main() with `args`; its JSON result, `rc` its exit code."""
    with patch_module_args(args), pytest.raises(SystemExit) as exc:
        module.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = exc.value.code
    return result
