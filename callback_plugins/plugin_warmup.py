"""Callback plugin plugin_warmup: load the Jinja filter and test plugins once, in the
controller's main process, before each task's workers fork.

ansible-core runs every task on every host in a forked worker. The first time a worker
renders a template that names a filter or test kept in a plugin directory (ours in
filter_plugins/ and the roles' filter_plugins/, and ansible's own), it loads and compiles
every plugin file of those directories. The main process rarely renders such a template,
so each worker did that again: on a 3-host no-op run of site.yml it was about a third of
the controller's CPU. Loading them in the main process first lets every worker inherit
them. The loader's cache is emptied when a role adds its plugin directory (include_role),
so the warm-up runs at each task start; it returns at once while the cache holds.

At the same points it also collects the main process's garbage and freezes what is left
(gc.freeze): the forked workers' own collections then leave the inherited heap alone, so
they do not write to (and the kernel does not copy) its pages. On the 3-host no-op that
took about a seventh off the controller's CPU. FLANNEL_ANSIBLE_GC_FREEZE=0 turns it off.

It changes no output and no result. It is loaded by itself from the project's
callback_plugins/ (ansible.cfg); a collection user enables it as
flannel_ansible.flannel.plugin_warmup.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader

DOCUMENTATION = r"""
name: plugin_warmup
type: aggregate
short_description: Load the Jinja filter and test plugins once, before the workers fork
description:
  - Loads the filter and test plugins of the configured plugin directories in the main
    process at the start of every task, so the forked workers inherit them instead of each
    loading and compiling them again. Output and results are unchanged.
  - At the start of every task it also collects the main process's garbage and freezes the
    rest (Python's gc.freeze), so the workers' garbage collections do not walk, and copy,
    the heap they inherit. Set the environment variable FLANNEL_ANSIBLE_GC_FREEZE=0 to
    turn that off.
version_added: "0.7.0"
author:
  - flannel-ansible maintainers
"""


# The collection filters the roles name by FQCN (tests/unit/test_plugin_warmup.py keeps
# this list in step with the roles): imported once here, they stay in sys.modules.
COLLECTION_FILTERS = ("ansible.utils.ipwrap", "community.general.dict_kv")
_IMPORTED: list[bool] = []


def own_collection_filters() -> list[str]:
    """Inside the built collection (plugins/callback/), the FQCNs of its own filters, by
    their documentation files in plugins/filter/; none in the repository."""
    parts = __name__.split(".")
    if parts[0] != "ansible_collections" or len(parts) < 3:
        return []
    fqcn = ".".join(parts[1:3])
    docs = Path(__file__).resolve().parent.parent / "filter"
    return [f"{fqcn}.{doc.stem}" for doc in sorted(docs.glob("*.yml"))]


def warm() -> None:
    for loader in (filter_loader, test_loader):
        # all() fills the loader's cache of plugin wrappers once, and returns at once after.
        for _ in loader.all():
            pass
    if not _IMPORTED:
        _IMPORTED.append(True)
        for name in (*COLLECTION_FILTERS, *own_collection_filters()):
            try:
                filter_loader.get(name)
            except Exception:  # noqa: BLE001 - a missing collection: the task says so itself
                continue


def freeze() -> None:
    """Collect the main process's garbage, then move what is left to the permanent
    generation (gc.freeze) just before the workers fork: a worker's own collections then
    never walk the inherited heap, which would write to, and so copy, its every page."""
    if os.environ.get("FLANNEL_ANSIBLE_GC_FREEZE", "1") == "0":
        return
    gc.collect()
    gc.freeze()


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "plugin_warmup"
    CALLBACK_NEEDS_ENABLED = False

    def v2_playbook_on_play_start(self, play) -> None:  # noqa: ANN001 - Ansible's signature
        warm()

    def v2_playbook_on_task_start(self, task, is_conditional) -> None:  # noqa: ANN001
        warm()
        freeze()

    def v2_playbook_on_handler_task_start(self, task) -> None:  # noqa: ANN001
        warm()
        freeze()
