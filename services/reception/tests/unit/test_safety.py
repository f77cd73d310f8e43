"""The rules of safety rounds (R2 §7.1, §7.2), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from club_platform.errors import Forbidden, Invalid

from club_reception.domain.safety import (
    Answer,
    check_answers,
    due_at,
    ensure_items_unique,
    ensure_may_close,
    ensure_may_walk,
    escalated_to,
    is_overdue,
    state_of,
)

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
ITEMS = ["exits_unobstructed", "exit_signs_lit", "doors_open_freely"]


def test_every_item_is_answered_once_and_the_missing_are_named():
    with pytest.raises(Invalid, match="missing: exit_signs_lit, doors_open_freely") as e:
        check_answers(ITEMS, [Answer("exits_unobstructed", "pass")])
    assert e.value.extra["missing"] == ["exit_signs_lit", "doors_open_freely"]
    with pytest.raises(Invalid, match="repeated: exit_signs_lit"):
        check_answers(ITEMS, [Answer(i, "pass") for i in [*ITEMS, "exit_signs_lit"]])
    with pytest.raises(Invalid, match="not items of this round: sauna_hot"):
        check_answers(ITEMS, [Answer(i, "pass") for i in [*ITEMS, "sauna_hot"]])
    check_answers(ITEMS, [Answer(i, "pass") for i in reversed(ITEMS)])  # any order


def test_a_failed_item_needs_a_note():
    answers = [Answer(i, "pass") for i in ITEMS[1:]]
    with pytest.raises(Invalid, match=r"needs a note.*exits_unobstructed"):
        check_answers(ITEMS, [Answer("exits_unobstructed", "fail"), *answers])
    check_answers(ITEMS, [Answer("exits_unobstructed", "fail", "boxes by door 2"), *answers])


def test_a_checklist_lists_each_item_once():
    with pytest.raises(Invalid, match="repeated: a"):
        ensure_items_unique(["a", "b", "a"])
    ensure_items_unique(["a", "b"])


def test_the_due_date_depends_on_the_area():
    hours = {"fire_exits": 4}
    assert due_at("fire_exits", NOW, hours, 24) == NOW + timedelta(hours=4)
    assert due_at("wet_floors", NOW, hours, 24) == NOW + timedelta(hours=24)


def test_escalation_goes_to_the_deputy_or_above_the_owner():
    assert escalated_to("attendant") == "deputy"
    assert escalated_to(None) == "deputy"  # not in the directory: the deputy follows up
    assert escalated_to("deputy") == "head"
    assert escalated_to("head") == "head"


def test_a_finding_is_overdue_once_past_due_and_only_once():
    due = NOW
    assert not is_overdue(due, None, None, NOW)  # at the due time it is still in time
    assert is_overdue(due, None, None, NOW + timedelta(seconds=1))
    assert not is_overdue(due, None, NOW, NOW + timedelta(hours=1))  # escalated already
    assert not is_overdue(due, NOW, None, NOW + timedelta(hours=1))  # closed
    assert state_of(None, None) == "open"
    assert state_of(None, NOW) == "overdue"
    assert state_of(NOW, NOW) == "closed"


def test_who_walks_and_who_closes():
    owner, other = uuid4(), uuid4()
    ensure_may_close(owner, owner, supervisor=False)
    ensure_may_close(owner, other, supervisor=True)
    with pytest.raises(Forbidden):
        ensure_may_close(owner, other, supervisor=False)
    ensure_may_walk(owner, owner, supervisor=False)
    ensure_may_walk(owner, other, supervisor=True)
    with pytest.raises(Forbidden):
        ensure_may_walk(owner, other, supervisor=False)



def test_the_due_hours_by_area_are_positive():
    from club_reception.settings import ReceptionSettings

    required = {"database_url": "postgresql+asyncpg://club@db/reception",
                "kafka_bootstrap_servers": "kafka:9092", "jwt_secret": "x" * 32}
    with pytest.raises(ValueError, match=r"at most 2160: wet_floors"):
        ReceptionSettings(**required, safety_finding_hours={"wet_floors": 0})
    settings = ReceptionSettings(**required, safety_finding_hours={"wet_floors": 2})
    assert settings.safety_finding_hours == {"wet_floors": 2}
