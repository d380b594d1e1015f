"""Timing and reporting shared by the benchmarks: per-call samples, percentiles, the machine."""

from __future__ import annotations

import gc
import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Sample:
    name: str
    p50_us: float
    p99_us: float
    calls: int


def measure(
    name: str, fn: Callable[[Any], object], inputs: Sequence[Any], calls: int, warmup: int = 2000
) -> Sample:
    """Time ``fn(inputs[i % len(inputs)])`` one call at a time; return p50 and p99 in µs."""
    n = len(inputs)
    for i in range(warmup):
        fn(inputs[i % n])
    gc.collect()
    clock = time.perf_counter_ns
    samples = []
    for i in range(calls):
        arg = inputs[i % n]
        start = clock()
        fn(arg)
        samples.append(clock() - start)
    samples.sort()
    return Sample(name, samples[calls // 2] / 1000, samples[int(calls * 0.99)] / 1000, calls)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)
