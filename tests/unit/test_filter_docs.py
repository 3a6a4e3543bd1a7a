"""Every exported filter has its ansible-doc file next to its plugin file, and no doc
file is orphaned.

The collection (scripts/build_collection.py) copies filter_plugins/ and
roles/*/filter_plugins/ into plugins/filter/, where `ansible-doc -t filter
flannel_ansible.flannel.<name>` reads <name>.yml. The docs must also describe the
function's own arguments: each named argument after the input is an option, and each
option is an argument (unless the function takes **kwargs).
"""

import inspect
from pathlib import Path

import pytest
import yaml

from tests.unit.loader import ROOT, load

PLUGIN_FILES = sorted(
    [*ROOT.glob("filter_plugins/*.py"), *ROOT.glob("roles/*/filter_plugins/*.py")]
)
DOC_FILES = sorted([*ROOT.glob("filter_plugins/*.yml"), *ROOT.glob("roles/*/filter_plugins/*.yml")])


def _exports() -> dict[str, tuple[Path, object]]:
    found: dict[str, tuple[Path, object]] = {}
    for path in PLUGIN_FILES:
        module = load(f"docs_{path.stem}", str(path.relative_to(ROOT)))
        for name, func in module.FilterModule().filters().items():
            assert name not in found, f"{name} exported by {found[name][0]} and {path}"
            found[name] = (path, func)
    return found


EXPORTS = _exports()


def test_there_are_filters_and_docs():
    assert len(PLUGIN_FILES) == 10
    assert len(EXPORTS) == 37


def test_no_orphaned_doc_file():
    orphans = [
        str(doc.relative_to(ROOT))
        for doc in DOC_FILES
        if doc.stem not in EXPORTS or EXPORTS[doc.stem][0].parent != doc.parent
    ]
    assert orphans == []


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_filter_is_documented(name):
    path, func = EXPORTS[name]
    doc_file = path.with_name(f"{name}.yml")
    assert doc_file.is_file(), f"{name} ({path.relative_to(ROOT)}) has no {doc_file.name}"
    data = yaml.safe_load(doc_file.read_text())
    assert set(data) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    doc = data["DOCUMENTATION"]
    assert doc["name"] == name
    assert doc["short_description"].strip() and doc["description"]
    assert "_value" in data["RETURN"] and data["RETURN"]["_value"]["description"]
    assert f"flannel_ansible.flannel.{name}" in data["EXAMPLES"]

    options = doc.get("options") or {}
    assert "_input" in options
    params = list(inspect.signature(func).parameters.values())[1:]
    named = [p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
    assert [p for p in named if p not in options] == []
    if not any(p.kind == p.VAR_KEYWORD for p in params):
        assert sorted(set(options) - {"_input"}) == sorted(named)
    for option, spec in options.items():
        assert spec.get("description"), f"{name}: option {option} has no description"
        assert spec.get("type"), f"{name}: option {option} has no type"
    # Positional options follow the signature's order; arguments without a default
    # must be passed positionally and are required.
    positional = [p.strip() for p in str(doc.get("positional", "_input")).split(",")]
    assert positional == ["_input", *named[: len(positional) - 1]]
    for param in params:
        if param.default is param.empty and param.kind == param.POSITIONAL_OR_KEYWORD:
            assert param.name in positional and options[param.name].get("required")
