"""Shared parts of the benchmarks: infrastructure from .env.test, fresh databases, timing,
medians and the report. Benchmarks are not tests: they print a table of ratios against a
baseline measured in the same run (the machine is shared and noisy) and write JSON to
.benchmarks/."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from club_platform.kafka import KafkaConnection
from club_platform.testing.databases import DatabaseFactory

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / ".benchmarks"


@dataclass
class Figure:
    scenario: str
    measure: str
    unit: str
    value: float
    baseline: str | None = None
    baseline_value: float | None = None
    runs: list[float] = field(default_factory=list)
    baseline_runs: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.baseline_value in (None, 0):
            return None
        return self.value / self.baseline_value


def infrastructure() -> tuple[KafkaConnection, DatabaseFactory]:
    kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    admin = os.environ.get("CLUB_POSTGRES_ADMIN_URL")
    if not (kafka and admin):
        raise SystemExit("run through `make bench` (it starts the tests' infrastructure and "
                         "loads .env.test), or set KAFKA_BOOTSTRAP_SERVERS and "
                         "CLUB_POSTGRES_ADMIN_URL")
    return KafkaConnection(kafka), DatabaseFactory(admin)


async def timed(action: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await action()
    return time.perf_counter() - started


def median(values: list[float]) -> float:
    return statistics.median(values)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def report(figures: list[Figure], name: str) -> Path:
    print()
    print(f"{'scenario':<22} {'measure':<34} {'value':>12} {'baseline':>12} {'ratio':>7}")
    print("-" * 92)
    for f in figures:
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        base = f"{f.baseline_value:,.1f}" if f.baseline_value is not None else ""
        print(f"{f.scenario:<22} {f.measure + ' (' + f.unit + ')':<34} {f.value:>12,.1f} "
              f"{base:>12} {ratio:>7}")
        if f.baseline:
            print(f"{'':<22}   baseline: {f.baseline}")
        if f.note:
            print(f"{'':<22}   {f.note}")
    OUT.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = OUT / f"{name}-{stamp}.json"
    path.write_text(json.dumps({
        "when": stamp, "machine": platform.node(), "cpus": os.cpu_count(),
        "figures": [asdict(f) | {"ratio": f.ratio} for f in figures],
    }, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return path
