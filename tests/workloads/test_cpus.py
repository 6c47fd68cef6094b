"""The CPU budget workloads size their thread pools with."""

from __future__ import annotations

import os

import pytest

from cogumi_workloads.runtime.cpus import cpu_budget


def test_the_budget_is_the_operators_thread_setting_else_the_cpus_of_this_process(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert cpu_budget() == 3
    for unusable in ("0", "", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert cpu_budget() == len(os.sched_getaffinity(0))
