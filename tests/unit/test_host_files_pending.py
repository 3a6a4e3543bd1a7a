"""Unit tests for filter_plugins/host_files_pending.py: the filter hands the entries and
the read to module_utils/flannel_host_read.py's `pending`."""

from tests.unit.loader import load

hfp = load("host_files_pending", "filter_plugins/host_files_pending.py")

ENTRY = {"path": "/etc/f", "content": "A=1\n", "mode": "0644"}


def test_the_filter_is_registered_under_its_name():
    assert hfp.FilterModule().filters() == {"host_files_pending": hfp.host_files_pending}


def test_it_loads_the_project_module_utils_outside_a_collection():
    assert hfp._read.__file__.endswith("module_utils/flannel_host_read.py")


def test_it_delegates_to_pending(monkeypatch):
    calls = []

    def fake(entries, observed):
        calls.append((entries, observed))
        return ["answer"]

    monkeypatch.setattr(hfp._read, "pending", fake)
    observed = {"/etc/f": {"type": "absent"}}
    assert hfp.host_files_pending((ENTRY,), observed) == ["answer"]
    assert calls == [([ENTRY], observed)]  # a list, whatever sequence came in


def test_no_entries_is_nothing_pending():
    assert hfp.host_files_pending(None, None) == []
    assert hfp.host_files_pending([], {}) == []


def test_without_a_read_every_entry_is_pending():
    assert hfp.host_files_pending([ENTRY]) == [ENTRY]


def test_an_entry_equal_to_the_read_is_dropped(tmp_path):
    f = tmp_path / "f"
    f.write_text("A=1\n")
    f.chmod(0o644)
    observed = hfp._read.stat_paths([str(f)])
    entry = dict(ENTRY, path=str(f), owner=observed[str(f)]["owner"])
    entry["group"] = observed[str(f)]["group"]
    assert hfp.host_files_pending([entry], observed) == []
    assert hfp.host_files_pending([dict(entry, mode="0600")], observed) == [
        dict(entry, mode="0600")
    ]
