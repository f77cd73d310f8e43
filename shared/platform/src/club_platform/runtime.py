"""A service's moving parts in one place (the composition root every service shares): its
database, its Kafka consumer runner, its outbox relay and its periodic jobs, started and
stopped together by the HTTP app's lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from club_platform.clock import Clock, OffsetClock, SystemClock
from club_platform.consumer import ConsumerRunner, EventConsumer, is_outage
from club_platform.db import Database
from club_platform.kafka import KafkaConnection, TopicSpec, ensure_topics, kafka_reachable
from club_platform.outbox import OutboxRelay
from club_platform.settings import ServiceSettings
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("club.runtime")

JobFunction = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class PeriodicJob:
    """Work that runs on a timer (no-show sweep, SLA escalation). Each run is one transaction
    guarded by a transaction-level advisory lock, so with several replicas one runs at a time.
    The function returns how many things it changed."""

    name: str
    interval_seconds: float
    run: JobFunction

    @property
    def lock_key(self) -> int:
        return zlib.crc32(f"club-job:{self.name}".encode())


def clock_for(settings: ServiceSettings) -> Clock:
    """The system clock, or in development the offset clock the settings name."""
    if settings.clock_offset_file is not None:
        return OffsetClock(settings.clock_offset_file)
    return SystemClock()


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, *, consumer: EventConsumer | None = None,
                 jobs: tuple[PeriodicJob, ...] = (), clock: Clock | None = None,
                 side_consumers: tuple[EventConsumer, ...] = ()) -> None:
        self.settings = settings
        self.clock: Clock = clock or clock_for(settings)
        self.database = Database(
            settings.database_url.get_secret_value(),
            pool_size=settings.database_pool_size,
            statement_timeout_ms=settings.database_statement_timeout_ms,
            application_name=f"club-{settings.service_name}",
        )
        self.kafka = KafkaConnection.from_settings(settings)
        self.consumer = consumer
        self.jobs = {job.name: job for job in jobs}
        self.runner: ConsumerRunner | None = None
        if consumer is not None and consumer.topics and settings.run_consumer:
            self.runner = ConsumerRunner(
                consumer, self.database, self.kafka, group_id=settings.group_id,
                max_batch=settings.consumer_max_batch,
                max_attempts=settings.consumer_max_attempts,
                retry_backoff_ms=settings.consumer_retry_backoff_ms,
            )
        # Consumers with their own group (`<group>.<name>`) and offsets, so that waiting on an
        # outside system (e.g. the identity provider) never holds up the service's own.
        self.side_runners: list[ConsumerRunner] = []
        if settings.run_consumer:
            self.side_runners = [
                ConsumerRunner(side, self.database, self.kafka,
                               group_id=f"{settings.group_id}.{side.name}",
                               max_batch=settings.consumer_max_batch,
                               max_attempts=settings.consumer_max_attempts,
                               retry_backoff_ms=settings.consumer_retry_backoff_ms)
                for side in side_consumers if side.topics]
        self.relay: OutboxRelay | None = None
        if settings.run_relay:
            self.relay = OutboxRelay(
                settings.database_url.get_secret_value(), self.kafka,
                batch_size=settings.relay_batch_size,
                poll_interval=settings.relay_poll_interval_ms / 1000,
                name=f"{settings.service_name}-relay",
            )
        self._tasks: list[asyncio.Task] = []
        self._kafka_state: tuple[float, bool] = (0.0, False)

    async def start(self) -> None:
        if self.relay is not None:
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.runner is not None:
            await self._start_runner(self.runner)
        for runner in self.side_runners:
            await self._start_runner(runner)
        for job in self.jobs.values():
            self._tasks.append(asyncio.create_task(self._repeat(job), name=f"job-{job.name}"))

    async def _start_runner(self, runner: ConsumerRunner) -> None:
        backoff = 0.5
        while True:
            try:
                # The group's dead-letter topic must exist before the first poison message.
                await ensure_topics(self.kafka, [TopicSpec(runner.dead_letter_topic)])
                await runner.start()
                return
            except Exception as e:
                log.warning("consumer cannot start yet (%s); retrying in %.1fs", e, backoff)
                with contextlib.suppress(Exception):
                    await runner.stop()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10)

    async def stop(self) -> None:
        for runner in self.side_runners:
            await runner.stop()
        if self.runner is not None:
            await self.runner.stop()
        if self.relay is not None:
            await self.relay.stop()
        for task in self._tasks:
            if task.get_name() != "outbox-relay":  # the relay finishes its batch and returns
                task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), 15)
        self._tasks.clear()
        await self.database.dispose()

    async def run_job(self, name: str, now: datetime | None = None) -> int | None:
        """Run a job once now; None when another replica holds it."""
        job = self.jobs[name]
        async with self.database.transaction() as session:
            locked = await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                          {"k": job.lock_key})
            if not locked:
                return None
            return await job.run(session, now or self.clock.now())

    async def _repeat(self, job: PeriodicJob) -> None:
        while True:
            try:
                changed = await self.run_job(job.name)
                if changed:
                    log.info("job %s changed %d", job.name, changed)
            except asyncio.CancelledError:
                raise
            except Exception as e:
                if is_outage(e):
                    log.warning("job %s skipped: database unavailable (%s)", job.name, e)
                else:
                    log.exception("job %s failed", job.name)
            await asyncio.sleep(job.interval_seconds)

    # ---------------------------------------------------------------- health

    async def database_ready(self) -> bool:
        try:
            async with asyncio.timeout(2):
                await self.database.ping()
            return True
        except Exception:
            return False

    async def kafka_ready(self) -> bool:
        checked_at, ok = self._kafka_state
        if time.monotonic() - checked_at > 5:
            ok = await kafka_reachable(self.kafka, timeout=2)
            self._kafka_state = (time.monotonic(), ok)
        return ok
