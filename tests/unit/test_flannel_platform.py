"""Unit tests of the host-side preflight (filter_plugins/flannel_platform.py)."""

import pytest

from tests.unit.loader import load

fp = load("flannel_platform", "filter_plugins/flannel_platform.py")


def facts(dist="Debian", release="trixie", family="Debian", pkg_mgr="apt"):
    return {
        "distribution": dist,
        "distribution_release": release,
        "os_family": family,
        "pkg_mgr": pkg_mgr,
    }


@pytest.mark.parametrize("release", ["bookworm", "trixie"])
def test_tested_platforms_pass_quietly(release):
    result = fp.flannel_platform_check(facts(release=release), {})
    assert result == {"platform": f"Debian {release}", "warnings": [], "errors": []}


@pytest.mark.parametrize(
    "host",
    [
        facts(release="bullseye"),
        facts("Ubuntu", "noble"),
        facts("Rocky", "9.4", "RedHat", "dnf"),
    ],
)
def test_untested_platforms_warn_but_do_not_fail(host):
    result = fp.flannel_platform_check(host, {"docker_install_method": "package"})
    assert result["errors"] == []
    assert len(result["warnings"]) == 1
    assert "is not a tested platform (tested: Debian bookworm, trixie)" in result["warnings"][0]


def test_repo_install_needs_apt():
    result = fp.flannel_platform_check(
        facts("Fedora", "41", "RedHat", "dnf"), {"docker_install_method": "repo"}
    )
    assert result["errors"] == [
        "docker_install_method: repo uses Docker's apt repository, and this host's package "
        "manager is dnf. Use docker_install_method: package."
    ]


def test_repo_install_on_debian_is_fine():
    assert fp.flannel_platform_check(facts(), {"docker_install_method": "repo"})["errors"] == []


def test_missing_facts_do_not_crash():
    result = fp.flannel_platform_check({}, {})
    assert result["platform"] == "unknown unknown"
    assert result["warnings"]
