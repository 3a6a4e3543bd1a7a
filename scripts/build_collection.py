#!/usr/bin/env python3
"""make collection: the flannel_ansible.flannel collection, built from this repo's layout.

The repository keeps its playbook-project layout (roles/, library/, module_utils/,
filter_plugins/, site.yml, playbooks/). This script assembles a collection from it in
a staging tree in a temporary directory (outside the repository), then runs
`ansible-galaxy collection build` there, writing dist/<namespace>-<name>-<version>.tar.gz.
The repository's files are only read.

What the staging tree gets, and what is changed on the way:
- roles/<role>: copied with symlinks dereferenced; a role's filter_plugins/ moves to
  plugins/filter/, because a role inside a collection loads no plugin directories;
- plugins/modules: library/*.py, importing the project's module_utils from the
  collection (`ansible_collections.<ns>.<name>.plugins.module_utils.<util>`);
- plugins/callback: callback_plugins/*.py (plugin_warmup, which the installed config
  of --install enables by its FQCN); plugins/action: action_plugins/*.py;
- plugins/module_utils: module_utils/*.py and module_utils' packages
  (flannel_preflight/);
- plugins/filter: filter_plugins/*.py and roles/*/filter_plugins/*.py, with the
  per-filter documentation files (<filter>.yml) next to them; the filters that use
  flannel_preflight find it there with a relative import (`..module_utils`), unchanged;
- playbooks/: site.yml (its imports of playbooks/X.yml become X.yml) and playbooks/*.yml
  with files/ and templates/; verify's default report path (see STAGED_EDITS);
- galaxy.yml, meta/runtime.yml, README.md, CHANGELOG.md, LICENSE (if present), docs/.

Jinja filters are never looked up in the collection search list, so every use of one of
the project's filters in the staged YAML and templates (`| name`) is rewritten to its
FQCN (`| <ns>.<name>.name`). Modules and roles need no rewrite: collection roles and
collection playbooks search their own collection for short names.

--install DIR additionally installs the tarball into DIR/collections and writes
DIR/ansible.cfg, a minimal config that finds it there (and nothing of the repository);
the path of that config is the only line printed on stdout, for
`ANSIBLE_CONFIG=$(scripts/build_collection.py --install DIR) ansible-playbook ...`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
ROLES = (
    "flannel_common",
    "flannel_preflight",
    "release_install",
    "etcd",
    "flannel",
    "docker",
    "flannel_verify",
)
PLAYBOOK_DIRS = ("files", "templates")
TOP_FILES = ("galaxy.yml", "README.md", "CHANGELOG.md", "LICENSE")
TEXT_SUFFIXES = (".yml", ".yaml", ".j2")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.retry")
# Exact edits of staged files (paths in the collection), each with its reason. In a
# collection playbook playbook_dir is the installed collection's playbooks/ directory,
# so the verify report would be written into the installed collection; it goes next to
# the inventory instead, where the etcd role keeps its PKI (etcd_pki_dir) too.
STAGED_EDITS: dict[str, list[tuple[str, str]]] = {
    "roles/flannel_verify/defaults/main.yml": [
        (
            "playbook_dir | regex_replace('/playbooks$', '') ~ '/reports/overlay.json'",
            "(inventory_dir | default(playbook_dir, true)) ~ '/reports/overlay.json'",
        )
    ],
}


class BuildError(Exception):
    """The repository's layout does not give a sound collection."""


def galaxy_meta(root: Path = ROOT) -> dict[str, str]:
    """namespace, name and version from galaxy.yml (the one place the version lives)."""
    data = yaml.safe_load((root / "galaxy.yml").read_text())
    return {key: str(data[key]) for key in ("namespace", "name", "version")}


def tarball_name(meta: dict[str, str]) -> str:
    return f"{meta['namespace']}-{meta['name']}-{meta['version']}.tar.gz"


def filter_dirs(root: Path = ROOT) -> list[Path]:
    """The repository's filter plugin directories: the project's and the roles' own."""
    dirs = [root / "filter_plugins", *(root / "roles" / role / "filter_plugins" for role in ROLES)]
    return [d for d in dirs if d.is_dir()]


def exported_filters(path: Path) -> list[str]:
    """The names a filter plugin file's FilterModule exports."""
    spec = importlib.util.spec_from_file_location(f"_flannel_build_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise BuildError(f"{path}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        return sorted(module.FilterModule().filters())
    finally:
        del sys.modules[spec.name]


def all_filters(root: Path = ROOT) -> dict[str, Path]:
    """Filter name -> the plugin file exporting it; a name exported twice is an error."""
    found: dict[str, Path] = {}
    for directory in filter_dirs(root):
        for path in sorted(directory.glob("*.py")):
            for name in exported_filters(path):
                if name in found:
                    raise BuildError(f"filter {name} is exported by {found[name]} and {path}")
                found[name] = path
    return found


def qualify_filters(text: str, names: Iterable[str], fqcn: str) -> tuple[str, int]:
    """Every `| name` of the given filters as `| fqcn.name`; returns the text and the count.

    A `|` after `: ` or `- ` is YAML's block scalar indicator, not a Jinja filter."""
    alternatives = "|".join(sorted(map(re.escape, names)))
    pattern = re.compile(r"((?<![:-] )\|\s*)(" + alternatives + r")(?![\w.])")
    return pattern.subn(lambda m: f"{m.group(1)}{fqcn}.{m.group(2)}", text)


def rewrite_tree(tree: Path, names: Iterable[str], fqcn: str) -> int:
    """qualify_filters on every YAML file and template under tree; returns the count."""
    total = 0
    for path in sorted(p for p in tree.rglob("*") if p.is_file() and p.suffix in TEXT_SUFFIXES):
        text, count = qualify_filters(path.read_text(), names, fqcn)
        if count:
            path.write_text(text)
            total += count
    return total


def module_utils(root: Path = ROOT) -> list[str]:
    """The names under module_utils/: its modules and its packages (directories with an
    __init__.py, such as flannel_preflight, which the filters import)."""
    base = root / "module_utils"
    names = [p.stem for p in base.glob("*.py")]
    names += [p.name for p in base.iterdir() if (p / "__init__.py").is_file()]
    return sorted(names)


def stage_module(source: Path, dest: Path, utils: Iterable[str], fqcn: str) -> None:
    """A module of library/ importing the project's module_utils from the collection."""
    text = source.read_text()
    package = f"ansible_collections.{fqcn}.plugins.module_utils"
    for util in utils:
        text = re.sub(
            rf"^(\s*from )ansible\.module_utils\.{util}( import)",
            rf"\g<1>{package}.{util}\g<2>",
            text,
            flags=re.MULTILINE,
        )
        if re.search(rf"ansible\.module_utils\.{util}\b", text):
            raise BuildError(f"{source}: imports {util} in a way the build does not rewrite")
    # Its EXAMPLES call it by its collection name.
    text = re.sub(rf"^(\s+){source.stem}:", rf"\g<1>{fqcn}.{source.stem}:", text, flags=re.M)
    dest.write_text(text)


def stage(root: Path, staging: Path) -> dict[str, int]:
    """Fill the staging tree; returns counts of what was staged and rewritten."""
    meta = galaxy_meta(root)
    fqcn = f"{meta['namespace']}.{meta['name']}"
    filters = all_filters(root)
    plugins = staging / "plugins"
    for sub in ("modules", "module_utils", "filter", "callback", "action"):
        (plugins / sub).mkdir(parents=True)
    for source, sub in (("callback_plugins", "callback"), ("action_plugins", "action")):
        for path in sorted((root / source).glob("*.py")):
            shutil.copy2(path, plugins / sub / path.name)

    for name in TOP_FILES:
        if (root / name).is_file():
            shutil.copy2(root / name, staging / name)
    shutil.copytree(root / "meta", staging / "meta", ignore=IGNORE)
    if (root / "docs").is_dir():
        shutil.copytree(root / "docs", staging / "docs", ignore=IGNORE)

    for role in ROLES:
        ignore = shutil.ignore_patterns("filter_plugins", "__pycache__", "*.pyc", "*.retry")
        shutil.copytree(root / "roles" / role, staging / "roles" / role, ignore=ignore)
    for directory in filter_dirs(root):
        for path in sorted(directory.glob("*.py")) + sorted(directory.glob("*.yml")):
            if (plugins / "filter" / path.name).exists():
                raise BuildError(f"{path.name}: two filter plugin files of that name")
            shutil.copy2(path, plugins / "filter" / path.name)

    utils = module_utils(root)
    for util in utils:
        source = root / "module_utils" / util
        if source.is_dir():
            shutil.copytree(source, plugins / "module_utils" / util, ignore=IGNORE)
        else:
            shutil.copy2(source.with_suffix(".py"), plugins / "module_utils")
    modules = sorted((root / "library").glob("*.py"))
    for module in modules:
        stage_module(module, plugins / "modules" / module.name, utils, fqcn)

    books = staging / "playbooks"
    books.mkdir()
    for path in sorted((root / "playbooks").glob("*.yml")):
        # upgrade.yml imports ../site.yml, which sits beside it in the collection.
        text = re.sub(
            r"^(\s*(?:ansible\.builtin\.)?import_playbook:\s*)\.\./site\.yml",
            r"\g<1>site.yml",
            path.read_text(),
            flags=re.MULTILINE,
        )
        (books / path.name).write_text(text)
        shutil.copystat(path, books / path.name)
    for sub in PLAYBOOK_DIRS:
        if (root / "playbooks" / sub).is_dir():
            shutil.copytree(root / "playbooks" / sub, books / sub, ignore=IGNORE)
    site, imports = re.subn(
        r"^(\s*(?:ansible\.builtin\.)?import_playbook:\s*)playbooks/",
        r"\g<1>",
        (root / "site.yml").read_text(),
        flags=re.MULTILINE,
    )
    (books / "site.yml").write_text(site)
    for name, edits in STAGED_EDITS.items():
        text = (staging / name).read_text()
        for old, new in edits:
            if old not in text:
                raise BuildError(f"{name} no longer has: {old}")
            text = text.replace(old, new)
        (staging / name).write_text(text)

    rewritten = rewrite_tree(staging / "roles", filters, fqcn) + rewrite_tree(books, filters, fqcn)
    left = [
        str(path.relative_to(staging))
        for path in staging.rglob("*")
        if path.suffix in TEXT_SUFFIXES and qualify_filters(path.read_text(), filters, "x")[1]
    ]
    if left:
        raise BuildError(f"short filter names left in {', '.join(left)}")
    return {
        "roles": len(ROLES),
        "modules": len(modules),
        "module_utils": len(utils),
        "filters": len(filters),
        "site_imports": imports,
        "filter_uses_qualified": rewritten,
    }


def tool(name: str) -> str:
    """An Ansible command from the venv this script runs in, else from PATH."""
    beside = Path(sys.executable).with_name(name)
    found = str(beside) if beside.exists() else shutil.which(name)
    if not found:
        raise BuildError(f"{name} not found next to {sys.executable} or on PATH")
    return found


def run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    """Run an ansible-galaxy step; its output goes to stderr, so stdout stays ours."""
    environ = {**os.environ, **(env or {})}
    done = subprocess.run(
        argv, cwd=cwd, env=environ, stdout=sys.stderr, stderr=sys.stderr, check=False
    )
    if done.returncode != 0:
        raise BuildError(f"{' '.join(argv)} exited {done.returncode}")


def build(root: Path = ROOT, out: Path | None = None) -> Path:
    """Stage and build; returns the tarball's path."""
    meta = galaxy_meta(root)
    out = (out or root / "dist").resolve()
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="flannel-collection-") as tmp:
        staging = Path(tmp) / "collection"
        staging.mkdir()
        counts = stage(root, staging)
        print(f"staged {counts}", file=sys.stderr)
        argv = [tool("ansible-galaxy"), "collection", "build", str(staging)]
        run([*argv, "--output-path", str(out), "--force"], out)
    tarball = out / tarball_name(meta)
    if not tarball.is_file():
        raise BuildError(f"ansible-galaxy did not write {tarball}")
    return tarball


def install(tarball: Path, dest: Path) -> Path:
    """Install tarball into dest/collections offline; returns dest/ansible.cfg, which uses it."""
    dest = dest.resolve()
    meta = galaxy_meta()
    fqcn = f"{meta['namespace']}.{meta['name']}"
    collections = dest / "collections"
    collections.mkdir(parents=True, exist_ok=True)
    cfg = dest / "ansible.cfg"
    cfg.write_text(
        "# Written by scripts/build_collection.py --install: the collection installed in\n"
        "# ./collections, its dependencies from the `ansible` bundle on sys.path, and\n"
        "# nothing of the repository (no roles_path, library, module_utils or filter_plugins).\n"
        "[defaults]\n"
        f"collections_path = {collections}\n"
        "interpreter_python = auto_silent\n"
        f"callbacks_enabled = {fqcn}.plugin_warmup\n"
        "retry_files_enabled = False\n"
        "host_key_checking = False\n"
    )
    # --offline: no Galaxy; the dependencies must be satisfied by what is installed,
    # which is the `ansible` bundle (Ansible finds it on sys.path).
    argv = [tool("ansible-galaxy"), "collection", "install", str(tarball), "-p", str(collections)]
    run([*argv, "--force", "--offline"], dest, {"ANSIBLE_CONFIG": str(cfg)})
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--out", type=Path, help="where the tarball goes (default: dist/)")
    parser.add_argument(
        "--install",
        type=Path,
        metavar="DIR",
        help="also install it into DIR/collections and print the path of DIR/ansible.cfg",
    )
    args = parser.parse_args(argv)
    try:
        tarball = build(ROOT, args.out)
        print(install(tarball, args.install) if args.install else tarball)
    except BuildError as exc:
        print(f"build_collection: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
