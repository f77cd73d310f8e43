"""`make bench` (or `uv run python -m tests.benchmarks [scenario …] [--events N] [--repeat R]`):
run the benchmarks, print the table, write JSON to .benchmarks/.

Scenarios and their default sizes (issue 8): pipeline (the relay and the consumer runner,
50,000 events), ingest (HR ingestion, 50,000 events), contention (booking, 2,000 requests),
e2e (6,000 visits completed at 100/s, i.e. 60 s; with the services' memory). `--events`
sets one size for all; the median of `--repeat` runs (at least 3 for a figure to report).
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from club_contracts import topics
from club_platform.cli import topic_specs
from club_platform.kafka import ensure_topics
from club_platform.testing import forget_history

from tests.benchmarks import ingest, pipeline, services
from tests.benchmarks.common import infrastructure, report

SCENARIOS = {
    "pipeline": (pipeline.run, 50_000),
    "ingest": (ingest.run, 50_000),
    "contention": (services.contention, 2_000),
    "e2e": (services.end_to_end, 6_000),
}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS),
                        help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--events", type=int, help="one size for every scenario")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING)
    kafka, factory = infrastructure()
    # The catalogue's topics as deploy/kafka/topics.yaml defines them: on a scratch broker
    # (`make wipe && make bench`) nothing else has created them, and the ingest scenario's
    # consumer found no `visit.completed` to read.
    specs = topic_specs()
    defined = {spec.name for spec in specs}
    await ensure_topics(kafka, specs)
    figures = []
    for name in args.scenarios:
        run, size = SCENARIOS[name]
        found = await run(kafka, factory, args.events or size, args.repeat)
        report(found, name)  # each scenario's table as soon as it is measured
        figures += found
    if len(args.scenarios) > 1:
        report(figures, "-".join(args.scenarios))
    # The scenarios wrote hundreds of thousands of events onto topics kept forever; left
    # there, every later rebuild from offset 0 (a new replica, `club-hr rebuild`, the replay
    # tests) would read them again.
    # (The pipeline's own event class joins the catalogue when imported: its topic exists
    # only once that scenario has run.)
    wrote = [t for t in topics() if t in defined] + (
        [pipeline.RELAY_TOPIC, pipeline.BenchClocked.topic] if "pipeline" in args.scenarios
        else [])
    await forget_history(kafka, wrote)
    print("the benchmarks' events were deleted from the topics (Kafka's delete-records)")


if __name__ == "__main__":
    asyncio.run(main())
