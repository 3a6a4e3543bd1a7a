"""Docker daemon options from flannel's subnet.env: a Python port of mk-docker-opts.sh.

This file is the single implementation behind two front ends:

* the ``mk_docker_opts`` Ansible module (``library/mk_docker_opts.py``), which imports it
  as ``ansible.module_utils.flannel_docker_opts``;
* a command line tool with upstream's flags, run on the hosts themselves, e.g. by
  flanneld's systemd unit::

      python3 flannel_docker_opts.py -f SUBNET_FILE -d DOCKER_OPTS_FILE \\
          -k DOCKER_NETWORK_OPTIONS -c

It must therefore use the Python standard library only.

The output matches upstream byte for byte: ``KEY="VALUE"`` lines, each ending in a newline;
the individual ``DOCKER_OPT_*`` variables in alphabetical order (BIP, IPMASQ, MTU); then the
combined variable, whose value is each option preceded by one space. Where upstream is
sloppy this port is strict:

* a missing subnet file, a missing or malformed ``FLANNEL_SUBNET``, a bad ``FLANNEL_MTU``
  and a bad ``FLANNEL_IPMASQ`` are errors that name the file and the key;
* an empty value counts as missing, as with upstream's ``[ -n "$VAR" ]`` tests; a missing
  ``FLANNEL_MTU`` or ``FLANNEL_IPMASQ`` drops that option, as upstream does;
* ``FLANNEL_IPMASQ`` is validated even when ip-masq is left out (upstream ``-m``);
* nothing is taken from the process environment (upstream sources the file into its shell
  and prepends any inherited value of the combined key);
* the route check matches the subnet's network exactly, and runs before anything is
  written, so a conflict leaves the destination untouched;
* the destination is written atomically, mode 0644, and only when its content changes;
  relative paths and a destination equal to the subnet file are refused.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

DEFAULT_DEST = "/run/docker_opts.env"
DEFAULT_COMBINED_KEY = "DOCKER_OPTS"
FILE_MODE = 0o644
MTU_MIN = 68
MTU_MAX = 65535

_SHELL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Route types `ip route show` prints in front of the destination (unicast is left out).
_ROUTE_TYPES = frozenset(
    "unicast local broadcast multicast throw unreachable prohibit blackhole nat anycast".split()
)

RouteLister = Callable[[], str]


class DockerOptsError(Exception):
    """Bad input or a failed step; ``message`` says what and where."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DockerOpts:
    """The Docker options derived from subnet.env, each as written (``--bip=...``) or None."""

    bip: str
    ip_masq: str | None
    mtu: str | None
    network: ipaddress.IPv4Network

    def individual(self) -> list[tuple[str, str]]:
        """``(variable, option)`` pairs in upstream's (alphabetical) order."""
        pairs = [
            ("DOCKER_OPT_BIP", self.bip),
            ("DOCKER_OPT_IPMASQ", self.ip_masq),
            ("DOCKER_OPT_MTU", self.mtu),
        ]
        return [(name, value) for name, value in pairs if value is not None]

    def combined(self) -> str:
        """The combined value as upstream builds it: every option preceded by a space."""
        return "".join(" " + value for _, value in self.individual())


@dataclass(frozen=True)
class Outcome:
    """What :func:`generate` did (or, with ``write=False``, would do)."""

    opts: DockerOpts
    dest: str
    before: str | None  # the destination's previous content; None if it did not exist
    after: str
    changed: bool


def parse_subnet_env(text: str, source: str) -> dict[str, str]:
    """``KEY=VALUE`` lines to a dict; blank lines and ``#`` comments are skipped.

    A value may be wrapped in one pair of matching single or double quotes. A later
    assignment of a key wins, as in a shell.
    """
    env: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _SHELL_NAME.match(key):
            raise DockerOptsError(f"{source}: line {number} is not KEY=VALUE: {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def read_subnet_env(path: str) -> dict[str, str]:
    """Read and parse a subnet file; a missing or unreadable file is an error."""
    if not os.path.exists(path):
        raise DockerOptsError(f"subnet file {path} does not exist (is flanneld running?)")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise DockerOptsError(f"cannot read subnet file {path}: {exc}") from exc
    return parse_subnet_env(text, path)


def build_docker_opts(env: Mapping[str, str], source: str, ip_masq: bool = True) -> DockerOpts:
    """Validate the flannel variables and turn them into Docker options.

    ``ip_masq=False`` (upstream ``-m``) leaves ``--ip-masq`` out. ``FLANNEL_IPMASQ`` is
    inverted on purpose: when flanneld masquerades, Docker must not, and vice versa.
    """
    subnet = env.get("FLANNEL_SUBNET", "")
    if not subnet:
        raise DockerOptsError(f"{source}: FLANNEL_SUBNET is missing or empty")
    _, slash, length = subnet.partition("/")
    try:
        if not slash or not length.isdigit():
            raise ValueError("no /prefix length")
        interface = ipaddress.ip_interface(subnet)
    except ValueError as exc:
        raise DockerOptsError(
            f"{source}: FLANNEL_SUBNET={subnet!r} is not an IPv4 address/prefix length ({exc})"
        ) from exc
    if not isinstance(interface, ipaddress.IPv4Interface):
        raise DockerOptsError(f"{source}: FLANNEL_SUBNET={subnet!r} is not an IPv4 address")

    mtu = env.get("FLANNEL_MTU", "")
    if mtu:
        if not (mtu.isascii() and mtu.isdigit()) or not MTU_MIN <= int(mtu) <= MTU_MAX:
            raise DockerOptsError(
                f"{source}: FLANNEL_MTU={mtu!r} is not an integer from {MTU_MIN} to {MTU_MAX}"
            )

    masq = env.get("FLANNEL_IPMASQ", "")
    if masq not in ("", "true", "false"):
        raise DockerOptsError(f"{source}: FLANNEL_IPMASQ={masq!r} is neither 'true' nor 'false'")

    return DockerOpts(
        bip=f"--bip={interface.with_prefixlen}",
        ip_masq=f"--ip-masq={'false' if masq == 'true' else 'true'}" if masq and ip_masq else None,
        mtu=f"--mtu={mtu}" if mtu else None,
        network=interface.network,
    )


def validate_combined_key(key: str) -> None:
    """The combined key must be a shell variable name."""
    if not _SHELL_NAME.match(key):
        raise DockerOptsError(
            f"combined key {key!r} is not a shell variable name ([A-Za-z_][A-Za-z0-9_]*)"
        )


def render(
    opts: DockerOpts,
    individual: bool = True,
    combined: bool = True,
    combined_key: str = DEFAULT_COMBINED_KEY,
) -> str:
    """The destination file's content, as upstream writes it (every line ends in a newline)."""
    if not individual and not combined:
        raise DockerOptsError("nothing to write: enable individual vars, combined vars or both")
    validate_combined_key(combined_key)
    pairs = opts.individual()
    if individual and combined and combined_key in {name for name, _ in pairs}:
        raise DockerOptsError(f"combined key {combined_key!r} clashes with an individual var")
    lines = [f'{name}="{value}"' for name, value in pairs] if individual else []
    if combined:
        lines.append(f'{combined_key}="{opts.combined()}"')
    return "".join(line + "\n" for line in lines)


def list_routes() -> str:
    """The IPv4 main routing table as printed by ``ip -4 route show``."""
    try:
        result = subprocess.run(
            ["ip", "-4", "route", "show"], capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise DockerOptsError(f"cannot run 'ip -4 route show': {exc}") from exc
    if result.returncode != 0:
        raise DockerOptsError(f"'ip -4 route show' failed: {result.stderr.strip()}")
    return result.stdout


def find_conflicting_route(network: ipaddress.IPv4Network, routes: str) -> str | None:
    """The first ``via`` route whose destination is exactly ``network``, or None.

    Lines that begin with whitespace (multipath ``nexthop`` lines) belong to the route above.
    """
    entries: list[str] = []
    for line in routes.splitlines():
        if line[:1].isspace() and entries:
            entries[-1] += " " + line.strip()
        elif line.strip():
            entries.append(line.strip())
    for entry in entries:
        words = entry.split()
        if words[0] in _ROUTE_TYPES:
            words = words[1:]
        if len(words) < 2 or "via" not in words[1:]:
            continue
        try:
            destination = ipaddress.ip_network(words[0])
        except ValueError:  # "default", or a network with host bits set
            continue
        if destination == network:
            return entry
    return None


def check_routes(network: ipaddress.IPv4Network, route_lister: RouteLister | None = None) -> None:
    """Fail if the routing table already routes ``network`` via a gateway."""
    routes = (route_lister or list_routes)()
    conflict = find_conflicting_route(network, routes)
    if conflict is not None:
        raise DockerOptsError(
            f"the routing table already has a route for the subnet {network}: {conflict}"
        )


def read_existing(path: str) -> str | None:
    """The current content of ``path``, or None if it does not exist."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise DockerOptsError(f"cannot read destination {path}: {exc}") from exc


def write_atomic(path: str, content: str) -> None:
    """Replace ``path`` with ``content`` (mode 0644) via a temporary file in the same dir."""
    directory = os.path.dirname(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".docker_opts.", suffix=".tmp")
    except OSError as exc:
        raise DockerOptsError(f"cannot create a temporary file in {directory}: {exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
            handle.flush()
            os.fchmod(handle.fileno(), FILE_MODE)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DockerOptsError(f"cannot write {path}: {exc}") from exc


def check_paths(subnet_file: str, dest: str) -> None:
    """Both paths must be absolute, and the destination must not be the subnet file."""
    for label, path in (("subnet file", subnet_file), ("destination", dest)):
        if not os.path.isabs(path):
            raise DockerOptsError(f"{label} {path!r} is not an absolute path")
    if os.path.realpath(subnet_file) == os.path.realpath(dest):
        raise DockerOptsError(
            f"destination {dest} is the subnet file {subnet_file}: writing it would wipe it"
        )


def generate(
    subnet_file: str,
    dest: str = DEFAULT_DEST,
    individual: bool = True,
    combined: bool = True,
    combined_key: str = DEFAULT_COMBINED_KEY,
    ip_masq: bool = True,
    routes: bool = True,
    route_lister: RouteLister | None = None,
    write: bool = True,
) -> Outcome:
    """Read, validate, check routes and write (if ``write`` and the content changed).

    Every check runs before anything is written: on error the destination is untouched.
    """
    check_paths(subnet_file, dest)
    env = read_subnet_env(subnet_file)
    opts = build_docker_opts(env, subnet_file, ip_masq=ip_masq)
    after = render(opts, individual=individual, combined=combined, combined_key=combined_key)
    if routes:
        check_routes(opts.network, route_lister)
    before = read_existing(dest)
    changed = before != after
    if changed and write:
        write_atomic(dest, after)
    return Outcome(opts=opts, dest=dest, before=before, after=after, changed=changed)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line front end with mk-docker-opts.sh's flags; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="flannel_docker_opts.py",
        description="Generate Docker daemon options from a flannel subnet.env file.",
    )
    parser.add_argument(
        "-f",
        dest="subnet_file",
        required=True,
        help="flannel env file (required: unlike upstream, no default is assumed)",
    )
    parser.add_argument(
        "-d",
        dest="dest",
        default=DEFAULT_DEST,
        help=f"Docker env file to write (default {DEFAULT_DEST})",
    )
    parser.add_argument(
        "-i",
        dest="individual",
        action="store_true",
        help="write each option as an individual DOCKER_OPT_* var",
    )
    parser.add_argument(
        "-c",
        dest="combined",
        action="store_true",
        help="write the combined var (with neither -i nor -c: both)",
    )
    parser.add_argument(
        "-k",
        dest="key",
        default=DEFAULT_COMBINED_KEY,
        help=f"name of the combined var (default {DEFAULT_COMBINED_KEY})",
    )
    parser.add_argument("-m", dest="no_ip_masq", action="store_true", help="leave --ip-masq out")
    parser.add_argument(
        "--no-check-routes",
        dest="check_routes",
        action="store_false",
        help="skip the check for an existing route to the subnet",
    )
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors: exit 1 like upstream, --help: 0
        return 1 if exc.code else 0
    individual, combined = args.individual, args.combined
    if not individual and not combined:
        individual = combined = True
    try:
        generate(
            subnet_file=args.subnet_file,
            dest=args.dest,
            individual=individual,
            combined=combined,
            combined_key=args.key,
            ip_masq=not args.no_ip_masq,
            routes=args.check_routes,
        )
    except DockerOptsError as exc:
        print(f"{parser.prog}: error: {exc.message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
