"""deploy/kafka/access.yaml against the code: each service's principal may read exactly the
topics its handlers consume and write exactly the topics its events are published on (and its
dead-letter topic). A service whose grants lack a topic it consumes cannot even subscribe
under the standard authorizer, so nothing it consumes would reach it."""

from __future__ import annotations

import importlib

import pytest
from club_contracts import event_types
from club_platform.cli import access_rules

SERVICES = ("booking", "reception", "crm", "hr")


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_may_read_exactly_what_its_handlers_consume(service):
    consumer = importlib.import_module(f"club_{service}.handlers").consumer
    assert sorted(access_rules()[service]["consumes"]) == sorted(consumer.topics)


@pytest.mark.parametrize("principal", [*SERVICES, "door"])
def test_a_principal_may_write_exactly_the_topics_of_its_events(principal):
    own = {t.topic for t in event_types() if t.producer == principal}
    if principal in SERVICES:
        own.add(f"{principal}.dlq")
    assert set(access_rules()[principal]["produces"]) == own
