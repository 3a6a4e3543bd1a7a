"""``entries | host_files_pending(observed)``: the host_files entries that differ from a read.

The comparison is module_utils/flannel_host_read.py's ``pending``, the same rule the
host_files module applies on the host; the roles call host_files only with what it
returns, and not at all when it is empty.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

try:
    from ..module_utils import flannel_host_read as _read
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "module_utils"))
    import flannel_host_read as _read  # type: ignore[no-redef]


def host_files_pending(entries: Any, observed: Any = None) -> list[Any]:
    return _read.pending(list(entries or []), observed)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"host_files_pending": host_files_pending}
