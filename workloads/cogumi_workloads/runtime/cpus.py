"""How many threads a workload may use: its container's CPU budget, not the host's core count."""

from __future__ import annotations

import os


def cpu_budget() -> int:
    """``OMP_NUM_THREADS`` when set (the operator sets it from the Job's or predictor's CPU request), else the
    CPUs this process may run on. llama.cpp's threads spin while they wait, so more threads than the budget
    slow every process sharing those cores."""
    configured = os.environ.get("OMP_NUM_THREADS", "").strip()
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
