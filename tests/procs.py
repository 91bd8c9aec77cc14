"""Processes by their parent, read from ``/proc`` (Linux): a server's workers, a private
cluster's backends. Used by the tests and by ``scripts/bench_load.py``."""

from __future__ import annotations

import os
from pathlib import Path


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (one that exits while listed is left out)."""
    out = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The fields after the command name, which is in brackets and may hold anything.
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.add(int(entry))
    return out
