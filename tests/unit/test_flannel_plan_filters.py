"""Unit tests of the filter entry points, filter_plugins/flannel_plan.py, and of how that
file finds module_utils/flannel_preflight."""

import importlib
import shutil
import sys
from pathlib import Path

from tests.unit.loader import ROOT, load
from tests.unit.preflight_helpers import DEFAULT_CONFIG, fp


def test_flannel_plan_filter_returns_only_the_plan():
    plan = fp.flannel_plan({"etcd": ["a"], "nodes": ["a", "b"]}, config=DEFAULT_CONFIG)
    assert plan["subnets_needed"] == 2 and plan["fits"] is True


def test_filter_module_exposes_filters():
    filters = fp.FilterModule().filters()
    for name in ("flannel_preflight", "flannel_plan", "flannel_inventory_view"):
        assert callable(filters[name])


def test_the_exported_filters():
    filters = fp.FilterModule().filters()
    assert sorted(filters) == [
        "flannel_inventory_view",
        "flannel_member_addresses",
        "flannel_mtu_by_backend",
        "flannel_plan",
        "flannel_plan_report",
        "flannel_preflight",
        "flannel_variable_problems",
    ]
    assert filters["flannel_variable_problems"] is fp.preflight.variables.variable_problems
    assert filters["flannel_mtu_by_backend"] is fp.preflight.plan.mtu_by_backend
    assert filters["flannel_plan_report"] is fp.preflight.report.plan_report
    assert filters["flannel_inventory_view"] is fp.preflight.inventory.inventory_view


def test_outside_a_collection_the_package_comes_from_module_utils():
    # Loaded by path (as Ansible and tests/unit/loader.py do), the relative import has no
    # parent package, so the filter falls back to the repository's module_utils/.
    assert fp.preflight.__name__ == "flannel_preflight"
    assert Path(fp.preflight.__file__) == ROOT / "module_utils/flannel_preflight/__init__.py"
    etcd = load("etcd_filters_import", "roles/etcd/filter_plugins/etcd_filters.py")
    assert etcd.preflight is fp.preflight


def test_inside_a_collection_the_relative_import_is_used(tmp_path, monkeypatch):
    # The layout scripts/build_collection.py builds: plugins/filter/ beside
    # plugins/module_utils/. Imported as a package, the filters take the package next to
    # them, not the repository's (which is not on sys.path here).
    plugins = tmp_path / "coll" / "plugins"
    shutil.copytree(
        ROOT / "module_utils/flannel_preflight", plugins / "module_utils/flannel_preflight"
    )
    (plugins / "filter").mkdir()
    shutil.copy(ROOT / "filter_plugins/flannel_plan.py", plugins / "filter")
    shutil.copy(ROOT / "roles/etcd/filter_plugins/etcd_filters.py", plugins / "filter")
    for package in (tmp_path / "coll", plugins, plugins / "filter", plugins / "module_utils"):
        (package / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(ROOT / "module_utils")])
    for name in [n for n in sys.modules if n == "coll" or n.startswith("coll.")]:
        monkeypatch.delitem(sys.modules, name)
    plan = importlib.import_module("coll.plugins.filter.flannel_plan")
    etcd = importlib.import_module("coll.plugins.filter.etcd_filters")
    assert plan.preflight.__name__ == "coll.plugins.module_utils.flannel_preflight"
    assert etcd.preflight is plan.preflight
    assert str(ROOT / "module_utils") not in sys.path
    assert plan.flannel_plan({"etcd": ["a"], "nodes": ["a"]}, config=DEFAULT_CONFIG)["fits"]
    assert etcd.etcd_flannel_config_problems({"Network": "10.244.0.0/16"})[0].startswith(
        "flannel_network_config.Backend: missing"
    )
