"""Fixtures of the cluster tests: control over the three local brokers (`make test-cluster`
starts them: deploy/local/infra.py, profile `cluster`)."""

from __future__ import annotations

import asyncio

import pytest
from club_platform.testing.infrastructure import (
    Infrastructure,
    _run_local_infra,
    local_profile_of,
    project_root,
)


class KafkaCluster:
    """Kill, restart and ask about single brokers of the local three-broker cluster."""

    def __init__(self) -> None:
        self.root = project_root()

    async def _infra(self, *args: str) -> str:
        result = await asyncio.to_thread(_run_local_infra, self.root, "cluster", *args)
        if result.returncode != 0:
            raise AssertionError(f"infra.py {' '.join(args)}: {result.stderr[-1500:]}")
        return result.stdout

    async def kill(self, node: int) -> None:
        """SIGKILL: no controlled shutdown, no leadership handed over."""
        await self._infra("kafka-kill", str(node))

    async def start(self, node: int) -> None:
        """Start the node again and wait until it reports itself started."""
        await self._infra("kafka-start", str(node))

    async def controller_leader(self) -> int:
        return int((await self._infra("kafka-leader")).strip())


@pytest.fixture
def kafka_cluster(club_infrastructure: Infrastructure) -> KafkaCluster:
    """Fails (never skips) unless the session runs on the local three-broker cluster."""
    if local_profile_of(club_infrastructure, "KAFKA_BOOTSTRAP_SERVERS") != "cluster" or len(
            club_infrastructure.kafka_bootstrap_servers.split(",")) < 3:
        pytest.fail("the cluster tests need the local three-broker cluster: `make test-cluster`",
                    pytrace=False)
    return KafkaCluster()
