"""`make bench` (or `uv run python -m tests.benchmarks [scenario …] [--events N] [--repeat R]`):
run the benchmarks, print the table, write JSON to .benchmarks/."""

from __future__ import annotations

import argparse
import asyncio
import logging

from tests.benchmarks import ingest, pipeline, services
from tests.benchmarks.common import infrastructure, report

SCENARIOS = {"pipeline": pipeline.run, "ingest": ingest.run,
             "contention": services.contention, "e2e": services.end_to_end}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    kafka, factory = infrastructure()
    figures = []
    for name in args.scenarios:
        figures += await SCENARIOS[name](kafka, factory, args.events, args.repeat)
    report(figures, "-".join(args.scenarios))


if __name__ == "__main__":
    asyncio.run(main())
