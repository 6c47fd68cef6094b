"""Latency of one decision on one CPU core: one torch thread, the process pinned to one core.

Both the wall-clock time (what a caller waits) and the thread's CPU time (the work itself, which
other processes competing for the core do not inflate) are recorded, with the 1-minute load
average at the time, so a figure from a busy machine can be read for what it is.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")


@contextlib.contextmanager
def one_core() -> Iterator[int | None]:
    """torch on one thread and (where the OS allows) the process pinned to one core; restored after."""
    threads = torch.get_num_threads()
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    core = min(affinity) if affinity else None
    torch.set_num_threads(1)
    if affinity and core is not None:
        os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        torch.set_num_threads(threads)
        if affinity:
            os.sched_setaffinity(0, affinity)


@dataclass(frozen=True)
class Latency:
    p50_ms: float
    p99_ms: float
    cpu_p50_ms: float
    cpu_p99_ms: float
    calls: int
    load_average: float
    """1-minute load average when the measurement ended (all cores together)."""


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1000.0, q))


def measure(function: Callable[[T], object], items: Sequence[T], calls: int = 200, warmup: int = 10) -> Latency:
    """``calls`` calls of ``function(item)``, cycling through ``items``, on one core, after ``warmup`` calls."""
    if not items:
        raise ValueError("latency needs at least one input")
    inputs = [items[i % len(items)] for i in range(calls)]
    wall: list[float] = []
    cpu: list[float] = []
    with one_core():
        for item in inputs[:warmup]:
            function(item)
        for item in inputs:
            start, start_cpu = time.perf_counter(), time.thread_time()
            function(item)
            cpu.append(time.thread_time() - start_cpu)
            wall.append(time.perf_counter() - start)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else -1.0
    return Latency(_ms(wall, 50), _ms(wall, 99), _ms(cpu, 50), _ms(cpu, 99), len(wall), load)
