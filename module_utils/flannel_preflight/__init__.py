"""The flannel network plan and the controller-side preflight rules.

Everything here is a pure function of its arguments (the only outside look is whether
the user-supplied TLS files exist on the controller). The filters of
``filter_plugins/flannel_plan.py`` (used by ``playbooks/preflight.yml`` and
``playbooks/plan.yml``) and the etcd role's ``etcd_flannel_config_problems`` call it;
``docs/preflight.md`` lists every rule with its message. What flanneld would reject, or
worse silently accept and then hang or misroute, is an error; what works but is
probably not meant is a warning.

Modules, each with one job:

``model``           flannel's config keys, types and limits; reading and quoting values
``inventory``       the variables read from the inventory, and ``Facts``
``plan``            the plan maths (subnets, defaults, MTUs) and the plan returned
``config_rules``    the rules on flannel_network_config but its Backend
``backend_rules``   the rules on its Backend and the MTU the backend leaves
``inventory_rules`` the rules that look at the inventory
``rules``           the table of rules (id -> function, description), and running it
``report``          the result as text
``variables``       the role variables set in the inventory, against the roles' argument specs

How a filter plugin imports this package
----------------------------------------
It is not a plugin itself: Ansible loads every ``.py`` of a filter_plugins directory
(and of its subdirectories) as a filter plugin, and gives those files no way to import
their neighbours. So it lives with the project's other shared code in ``module_utils/``,
and the filter files that use it (``filter_plugins/flannel_plan.py``,
``roles/etcd/filter_plugins/etcd_filters.py``) import it in the same two steps:

1. ``from ..module_utils.flannel_preflight import ...``: inside the built collection
   the filter is ``ansible_collections.<ns>.<name>.plugins.filter.<file>`` and this is
   ``plugins/module_utils/flannel_preflight`` (scripts/build_collection.py copies the
   package there). Relative, so an installed copy of the collection never shadows the
   repository's code, and so it names no namespace.
2. Anywhere else that fails with ImportError (Ansible loads a repository filter as
   ``ansible.plugins.filter.<file>_<hash>``; tests/unit/loader.py and the build load
   them as top-level modules), and the filter puts the repository's ``module_utils/``
   first on ``sys.path`` (found from its own ``__file__``) and imports
   ``flannel_preflight``. A role's filter_plugins directory works the same way.

Inside the package all imports are relative, so it works under either name.
"""

from . import (
    backend_rules,
    config_rules,
    inventory,
    inventory_rules,
    model,
    plan,
    release_rules,
    report,
    rules,
    variables,
)

__all__ = [
    "backend_rules",
    "config_rules",
    "inventory",
    "inventory_rules",
    "model",
    "plan",
    "release_rules",
    "report",
    "rules",
    "variables",
]
