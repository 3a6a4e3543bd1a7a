"""Unit tests for library/verify_node.py: a node's overlay reads and its probe start."""

import base64
import http.server
import json
import re
import socket
import threading

import pytest
import yaml

from tests.unit.loader import ROOT, load, run_module

mod = load("verify_node", "library/verify_node.py")

SKIPPED = {"skipped": True}


# read_subnet


def test_the_subnet_file_comes_base64_encoded(tmp_path):
    f = tmp_path / "subnet.env"
    f.write_bytes(b"FLANNEL_SUBNET=10.5.1.1/24\nFLANNEL_MTU=1450\n")
    out = mod.read_subnet(str(f))
    assert out == {
        "content": base64.b64encode(f.read_bytes()).decode(),
        "encoding": "base64",
        "source": str(f),
    }


def test_a_missing_subnet_file_fails_as_slurp_does(tmp_path):
    path = str(tmp_path / "subnet.env")
    assert mod.read_subnet(path) == {"failed": True, "msg": f"file not found: {path}"}


def test_another_read_error_gives_its_text(tmp_path):
    out = mod.read_subnet(str(tmp_path))
    assert out["failed"] and "Is a directory" in out["msg"]


# read_healthz


class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        code = 200 if self.path == "/healthz" else 500
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def test_no_url_skips_the_health_read():
    assert mod.read_healthz("") == SKIPPED


def test_a_healthy_answer_is_200(server):
    assert mod.read_healthz(f"{server}/healthz") == {"status": 200, "msg": "OK (200)"}


def test_an_error_answer_is_its_status(server):
    out = mod.read_healthz(f"{server}/broken")
    assert out["status"] == 500 and out["msg"].startswith("HTTP Error 500")


def test_no_answer_is_status_minus_one(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    out = mod.read_healthz(f"http://127.0.0.1:{port}/healthz")
    assert out["status"] == -1 and out["msg"].startswith("Status code was -1 and not [200]")


# node_state, with the commands faked


def params(tmp_path, **kw):
    p = {
        "subnet_file": str(tmp_path / "subnet.env"),
        "healthz_url": "",
        "image": "flannel-probe:local",
        "name": "flannel-probe",
        "port": 8080,
        "published_port": 0,
        "reads": True,
        "start": True,
    }
    return {**p, **kw}


@pytest.fixture
def docker(monkeypatch):
    """rc per command (by its first words), and the argv of each call made."""
    rcs = {"docker image": 0, "docker run": 0}
    calls = []

    def fake(argv, timeout=60):
        calls.append(argv)
        rc = rcs.get(" ".join(argv[:2]), 0)
        return {"rc": rc, "stdout": " ".join(argv), "stderr": ""}

    monkeypatch.setattr(mod, "run", fake)
    return rcs, calls


ROUTES = ["ip", "-j", "-4", "route", "show"]
INFO = ["docker", "info", "--format", "{{json .}}"]
IMAGE = ["docker", "image", "inspect", "--format", "{{.Id}}", "flannel-probe:local"]
RM = ["docker", "rm", "-f", "flannel-probe"]
START = ["docker", "run", "-d", "--name", "flannel-probe", "flannel-probe:local"]
START += ["/bin/httpd", "-f", "-p", "8080", "-h", "/bin"]
INSPECT = ["docker", "inspect", "flannel-probe"]
DOCKER0 = ["ip", "-j", "-4", "addr", "show", "dev", "docker0"]


def test_with_the_image_the_probe_starts_and_docker0_is_read_after(tmp_path, docker):
    (tmp_path / "subnet.env").write_text("FLANNEL_MTU=1450\n")
    out = mod.node_state(params(tmp_path))
    assert docker[1] == [ROUTES, INFO, IMAGE, RM, START, INSPECT, DOCKER0]
    assert out["subnet"]["encoding"] == "base64" and out["healthz"] == SKIPPED
    assert out["image"]["rc"] == 0 and out["start"]["rc"] == 0
    assert out["inspect"]["stdout"] == " ".join(INSPECT)
    assert out["docker0"]["stdout"] == " ".join(DOCKER0)


def test_without_the_image_nothing_starts_but_docker0_is_read(tmp_path, docker):
    docker[0]["docker image"] = 1
    out = mod.node_state(params(tmp_path))
    assert docker[1] == [ROUTES, INFO, IMAGE, DOCKER0]
    assert out["start"] == SKIPPED and out["inspect"] == SKIPPED
    assert out["docker0"]["rc"] == 0 and out["subnet"]["failed"]


def test_a_start_only_call_reads_nothing_else(tmp_path, docker):
    out = mod.node_state(params(tmp_path, reads=False))
    assert docker[1] == [RM, START, INSPECT, DOCKER0]
    for part in ("subnet", "routes", "healthz", "engine", "image"):
        assert out[part] == SKIPPED


def test_a_failed_start_is_not_inspected(tmp_path, docker):
    docker[0]["docker run"] = 1
    out = mod.node_state(params(tmp_path))
    assert out["start"]["rc"] == 1 and out["inspect"] == SKIPPED
    assert docker[1] == [ROUTES, INFO, IMAGE, RM, START, DOCKER0]


def test_reads_without_a_start(tmp_path, docker):
    out = mod.node_state(params(tmp_path, start=False))
    assert docker[1] == [ROUTES, INFO, IMAGE, DOCKER0] and out["start"] == SKIPPED


def test_neither_reads_nor_start_runs_nothing(tmp_path, docker):
    out = mod.node_state(params(tmp_path, reads=False, start=False))
    assert docker[1] == [] and all(v == SKIPPED for v in out.values())


def test_the_module_reports_no_change(tmp_path, capsys, docker):
    args = {"subnet_file": str(tmp_path / "s"), "image": "i", "port": 80}
    out = run_module(mod, capsys, {**args, "_ansible_check_mode": True})
    assert out["rc"] == 0 and out["changed"] is False
    assert out["start"]["stdout"].startswith("docker run -d --name flannel-probe i ")


def test_with_a_published_port_the_probe_publishes_it_and_serves_both(tmp_path, docker):
    out = mod.node_state(params(tmp_path, reads=False, published_port=8081))
    rm, start = docker[1][:2]
    assert rm == RM, "an older probe (maybe without the published port) is removed first"
    assert start[:7] == ["docker", "run", "-d", "--name", "flannel-probe", "-p", "8081:8081"]
    assert start[7:10] == ["flannel-probe:local", "/bin/sh", "-c"]
    # The unpublished httpd goes to the background once it listens, the published one is PID 1.
    assert start[10] == "/bin/httpd -p 8080 -h /bin && exec /bin/httpd -f -p 8081 -h /bin"
    assert out["start"]["rc"] == 0


def test_without_a_published_port_the_probe_is_the_single_httpd():
    assert mod.probe_argv("img", "p", 7777) == mod.probe_argv("img", "p", 7777, 0) == [
        "docker", "run", "-d", "--name", "p", "img", "/bin/httpd", "-f", "-p", "7777", "-h", "/bin"
    ]  # fmt: skip


# engine_info


def info(data, rc=0, stderr=""):
    return {"rc": rc, "stdout": json.dumps(data), "stderr": stderr}


def test_the_engine_reports_its_version_and_firewall_backend():
    data = {"ServerVersion": "29.8.1", "FirewallBackend": {"Driver": "nftables", "Info": []}}
    assert mod.engine_info(info(data)) == {
        "version": "29.8.1",
        "firewall_backend": "nftables",
        "error": "",
    }


def test_an_engine_without_firewall_backend_is_iptables_not_reported():
    out = mod.engine_info(info({"ServerVersion": "26.1.5+dfsg1"}))
    assert out == {"version": "26.1.5+dfsg1", "firewall_backend": "iptables (not reported)",
                   "error": ""}  # fmt: skip


def test_docker_info_without_a_daemon_gives_the_reason():
    stderr = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
    out = mod.engine_info(info({"ServerVersion": ""}, rc=1, stderr=stderr))
    assert out == {"version": "unknown", "firewall_backend": "unknown",
                   "error": f"docker info: {stderr}"}  # fmt: skip
    out = mod.engine_info({"rc": 0, "stdout": "not json", "stderr": ""})
    assert out["version"] == "unknown" and out["error"].startswith("docker info: rc=0")
    errors = info({"ServerVersion": "", "ServerErrors": ["daemon is starting"]})
    assert mod.engine_info(errors)["error"] == "docker info: daemon is starting"


def test_the_engine_is_read_once_with_the_other_reads(tmp_path, monkeypatch):
    data = {"ServerVersion": "28.5.2", "FirewallBackend": {"Driver": "iptables"}}

    def fake(argv, timeout=60):
        if argv[:2] == ["docker", "info"]:
            return info(data)
        return {"rc": 0, "stdout": "", "stderr": ""}

    monkeypatch.setattr(mod, "run", fake)
    out = mod.node_state(params(tmp_path, start=False))
    assert out["engine"] == {"version": "28.5.2", "firewall_backend": "iptables", "error": ""}


# the module's documentation


def test_the_documentation_is_yaml_and_names_every_option():
    source = (ROOT / "library/verify_node.py").read_text()
    docs = {
        k: yaml.safe_load(source.split(f'{k} = r"""', 1)[1].split('"""', 1)[0])
        for k in ("DOCUMENTATION", "EXAMPLES", "RETURN")
    }
    spec = source.split("argument_spec={", 1)[1].split("},\n        supports", 1)[0]
    assert set(docs["DOCUMENTATION"]["options"]) == set(re.findall(r'"(\w+)": \{"type"', spec))
    assert {"engine", "start", "inspect"} <= set(docs["RETURN"])
    assert set(docs["RETURN"]["engine"]["contains"]) == {"version", "firewall_backend", "error"}


# run


def test_run_strips_the_last_newline_and_reports_a_missing_program(tmp_path):
    assert mod.run(["/bin/echo", "hi"]) == {"rc": 0, "stdout": "hi", "stderr": ""}
    missing = mod.run([str(tmp_path / "nope")])
    assert missing == {"rc": 127, "stdout": "", "stderr": f"{tmp_path / 'nope'}: not found"}


def test_run_times_out_as_124():
    out = mod.run(["/bin/sleep", "5"], timeout=0.2)
    assert out["rc"] == 124 and "timed out" in out["stderr"]
