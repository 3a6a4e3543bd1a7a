"""Unit tests of the plan as text (module_utils/flannel_preflight/report.py)."""

from tests.unit.preflight_helpers import fp, net, run


def test_plan_report_lines():
    lines = fp.flannel_plan_report(run())
    text = "\n".join(lines)
    assert "255 available, 3 needed (group nodes): fits" in text
    assert "vxlan 1450" in text and "wireguard 1420" in text
    bad = run(net(SubnetLen=31))
    assert any(line.startswith("ERROR: ") for line in fp.flannel_plan_report(bad))
    assert not any(line.startswith("ERROR: ") for line in fp.flannel_plan_report(bad, errors=False))


def test_plan_report_of_an_empty_result():
    assert fp.flannel_plan_report({}) == [
        "Network:        ?, one /? per node",
        "Subnet range:   ? .. ?",
        "Subnets:        ? available, ? needed (group nodes): DOES NOT FIT",
        "Backend:        ?, overlay MTU ? on a ?-byte underlay",
        "etcd:           0 member(s) (none); config at ?",
        "Nodes:          none",
    ]


def test_plan_report_default_length_and_ipv6():
    result = run(net(SubnetLen=None, EnableIPv6=True, IPv6Network="fd00:10:244::/56"))
    lines = fp.flannel_plan_report(result)
    assert lines[0] == "Network:        10.244.0.0/16, one /24 per node (flannel's default)"
    assert "IPv6:           fd00:10:244::/56, one /64 per node, 255 available" in lines
