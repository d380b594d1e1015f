"""Timing and reporting shared by the benchmarks: per-call samples, percentiles, the machine."""

from __future__ import annotations

import gc
import os
import platform
import statistics
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
    name: str,
    fn: Callable[[Any], object],
    inputs: Sequence[Any],
    calls: int,
    warmup: int = 2000,
    rounds: int = 3,
) -> Sample:
    """Time ``fn(inputs[i % len(inputs)])`` one call at a time; p50 and p99 in µs.

    The run is repeated ``rounds`` times and the median round's percentiles are reported, so
    one burst of noise from elsewhere on the machine does not decide the result.
    """
    n = len(inputs)
    for i in range(warmup):
        fn(inputs[i % n])
    clock = time.perf_counter_ns
    p50s, p99s = [], []
    for _ in range(rounds):
        gc.collect()
        samples = []
        for i in range(calls):
            arg = inputs[i % n]
            start = clock()
            fn(arg)
            samples.append(clock() - start)
        samples.sort()
        p50s.append(samples[calls // 2] / 1000)
        p99s.append(samples[int(calls * 0.99)] / 1000)
    return Sample(name, statistics.median(p50s), statistics.median(p99s), calls * rounds)


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
