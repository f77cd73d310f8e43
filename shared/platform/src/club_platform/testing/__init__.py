"""Test support for every club service: the pytest plugin (fixtures for real Kafka and
PostgreSQL) and helpers to serve an app over real HTTP, watch topics and publish events."""

from club_platform.testing.http import client, serve_app
from club_platform.testing.kafka import (
    EventPublisher,
    Seen,
    TopicTap,
    caught_up,
    forget_history,
    start_group_at_end,
    wait_for,
)

__all__ = [
    "EventPublisher",
    "Seen",
    "TopicTap",
    "caught_up",
    "client",
    "forget_history",
    "serve_app",
    "start_group_at_end",
    "wait_for",
]
