"""Unit tests for callback_plugins/plugin_warmup.py, and the list of collection filters it
imports kept in step with the filters the roles and playbooks name by FQCN."""

import importlib.util
import json
import re
import shutil
import subprocess
import sys

from tests.unit.loader import ROOT, load

pw = load("plugin_warmup", "callback_plugins/plugin_warmup.py")

_FQCN = r"((?:ansible\.utils|community\.[a-z_]+|ansible\.posix)\.[a-z_]+)"
# `x | fqcn` and `map('fqcn', ...)` (roles/etcd/vars/main.yml maps community.general.dict_kv)
USES = [re.compile(r"\|\s*" + _FQCN), re.compile(r"\bmap\(\s*['\"]" + _FQCN + r"['\"]")]


def yaml_and_templates():
    files = [*ROOT.glob("roles/**/*.yml"), *ROOT.glob("roles/**/*.j2")]
    return sorted(files + list(ROOT.glob("playbooks/*.yml")))


def used_filters():
    """{fqcn: the first file naming it} over the roles and playbooks."""
    used = {}
    for path in yaml_and_templates():
        text = path.read_text(encoding="utf-8")
        for pattern in USES:
            for name in pattern.findall(text):
                used.setdefault(name, str(path.relative_to(ROOT)))
    return used


def test_it_runs_without_being_enabled():
    assert pw.CallbackModule.CALLBACK_NEEDS_ENABLED is False
    assert pw.CallbackModule.CALLBACK_NAME == "plugin_warmup"
    assert pw.CallbackModule.CALLBACK_TYPE == "aggregate"


def test_the_scan_finds_the_roles_files():
    assert any(p.suffix == ".j2" for p in yaml_and_templates())
    assert "ansible.utils.ipwrap" in used_filters()


def test_every_collection_filter_the_roles_use_is_warmed():
    missing = {n: f for n, f in used_filters().items() if n not in pw.COLLECTION_FILTERS}
    assert missing == {}, "add them to COLLECTION_FILTERS"


def test_every_warmed_collection_filter_is_used():
    assert sorted(set(pw.COLLECTION_FILTERS) - set(used_filters())) == []
    assert len(set(pw.COLLECTION_FILTERS)) == len(pw.COLLECTION_FILTERS)


def test_in_the_repository_it_has_no_own_collection_filters():
    assert pw.own_collection_filters() == []


def test_in_a_collection_it_names_its_own_filters_by_their_docs(tmp_path):
    plugins = tmp_path / "ansible_collections" / "acme" / "net" / "plugins"
    (plugins / "callback").mkdir(parents=True)
    (plugins / "filter").mkdir()
    for name in ("b_filter.yml", "a_filter.yml", "a_filter.py", "helpers.txt"):
        (plugins / "filter" / name).write_text("")
    shutil.copy(ROOT / "callback_plugins" / "plugin_warmup.py", plugins / "callback")
    name = "ansible_collections.acme.net.plugins.callback.plugin_warmup"
    spec = importlib.util.spec_from_file_location(name, plugins / "callback" / "plugin_warmup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.own_collection_filters() == ["acme.net.a_filter", "acme.net.b_filter"]


WARM = """
import json, sys
sys.path.insert(0, "callback_plugins")
from ansible.plugins.loader import filter_loader, init_plugin_loader
init_plugin_loader()  # the collection loader, as ansible-playbook sets it up
import plugin_warmup
plugin_warmup.warm()
plugin_warmup.warm()
print(json.dumps([plugin_warmup._IMPORTED, [n for n in plugin_warmup.COLLECTION_FILTERS
                                            if filter_loader.get(n) is None]]))
"""


def test_warm_does_not_raise_where_ansible_runs_it():
    # A process of its own: the collection loader it needs stays out of the test process.
    proc = subprocess.run(
        [sys.executable, "-c", WARM], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    imported, not_found = json.loads(proc.stdout.splitlines()[-1])
    assert imported == [True] and not_found == []


def test_warm_fills_both_loaders_and_imports_the_filters_once(monkeypatch):
    asked, listed = [], []

    class Loader:
        def __init__(self, name):
            self.name = name

        def all(self):
            listed.append(self.name)
            return iter(())

        def get(self, name):
            asked.append(name)

    monkeypatch.setattr(pw, "filter_loader", Loader("filter"))
    monkeypatch.setattr(pw, "test_loader", Loader("test"))
    monkeypatch.setattr(pw, "_IMPORTED", [])
    pw.warm()
    pw.warm()
    assert listed == ["filter", "test", "filter", "test"]
    assert asked == list(pw.COLLECTION_FILTERS) and pw._IMPORTED == [True]


def test_each_hook_warms(monkeypatch):
    calls = []
    monkeypatch.setattr(pw, "warm", lambda: calls.append(1))
    cb = pw.CallbackModule()
    cb.v2_playbook_on_play_start(None)
    cb.v2_playbook_on_task_start(None, False)
    cb.v2_playbook_on_handler_task_start(None)
    assert len(calls) == 3


def test_freeze_collects_then_freezes(monkeypatch):
    calls = []
    monkeypatch.setattr(pw.gc, "collect", lambda: calls.append("collect"))
    monkeypatch.setattr(pw.gc, "freeze", lambda: calls.append("freeze"))
    pw.freeze()
    assert calls == ["collect", "freeze"]
