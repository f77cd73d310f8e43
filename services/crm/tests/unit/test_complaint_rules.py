"""The complaint rules without I/O (R2 §3.3–3.4): SLA policy, states, resolution, ladder."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from club_platform.errors import Conflict, Invalid

from club_crm.domain import complaints as rules
from club_crm.domain.complaints import CompensationPlan, SlaClock

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.mark.parametrize(("category", "severity", "first", "resolve"), [
    ("service", "high", 1, 24),
    ("service", "medium", 4, 72),
    ("service", "low", 24, 168),
    ("safety", "low", 1, 24),            # safety never waits (R2 §7.2)
    ("staff_conduct", "medium", 4, 48),  # conduct is resolved within two days
    ("staff_conduct", "high", 1, 24),    # the tighter of the two wins
    ("billing", "medium", 4, 72),
])
def test_sla_policy_by_severity_and_category(category, severity, first, resolve):
    due = rules.deadlines(category, severity, T0)
    assert due.first_response_due_at == T0 + first * H
    assert due.resolution_due_at == T0 + resolve * H


@pytest.mark.parametrize(("state", "action", "target"), [
    ("open", "acknowledge", "acknowledged"),
    ("acknowledged", "start", "in_progress"),
    ("acknowledged", "resolve", "resolved"),
    ("in_progress", "resolve", "resolved"),
    ("resolved", "close", "closed"),
    ("resolved", "reopen", "in_progress"),
    ("closed", "reopen", "in_progress"),
])
def test_allowed_moves(state, action, target):
    assert rules.transition(state, action) == target


@pytest.mark.parametrize(("state", "action"), [
    ("open", "resolve"), ("open", "close"), ("in_progress", "acknowledge"),
    ("closed", "resolve"), ("open", "reopen"), ("closed", "close"),
])
def test_refused_moves_say_why(state, action):
    with pytest.raises(Conflict) as refused:
        rules.transition(state, action)
    assert state.replace("_", " ") in refused.value.detail


def test_a_resolution_needs_every_part():
    with pytest.raises(Invalid) as refused:
        rules.check_resolution(None, None, None)
    detail = refused.value.detail
    assert "explanation" in detail and "compensation plan" in detail and "upheld" in detail
    done = rules.check_resolution("  Sorry.  ", CompensationPlan("none"), False)
    assert done.explanation == "Sorry." and done.upheld is False


@pytest.mark.parametrize(("plan", "problem"), [
    (CompensationPlan("voucher"), "amount"),
    (CompensationPlan("refund"), "amount"),
    (CompensationPlan("service_credit"), "amount"),
    (CompensationPlan("none", Decimal("5")), "no amount"),
    (CompensationPlan("refund", Decimal("0")), "more than zero"),
])
def test_compensation_plans_need_amounts_where_they_apply(plan, problem):
    with pytest.raises(Invalid, match=problem):
        rules.check_compensation(plan)


def test_a_gift_may_carry_its_value_or_not():
    rules.check_compensation(CompensationPlan("gift"))
    rules.check_compensation(CompensationPlan("gift", Decimal("30.00")))


def _clock(**changes) -> SlaClock:
    base = {"state": "open", "level": 0, "acknowledged_at": None,
            "first_response_due_at": T0 + 4 * H, "resolution_due_at": T0 + 72 * H,
            "last_escalated_at": None}
    return SlaClock(**(base | changes))


def test_the_ladder_deputy_first_then_head_a_day_later():
    day = timedelta(hours=24)
    assert rules.escalation_due(_clock(), T0 + 3 * H, day) is None
    first = rules.escalation_due(_clock(), T0 + 5 * H, day)
    assert (first.level, first.role, first.reason) == (1, "deputy", "sla_breach")
    at_deputy = _clock(level=1, last_escalated_at=T0 + 5 * H)
    assert rules.escalation_due(at_deputy, T0 + 28 * H, day) is None
    second = rules.escalation_due(at_deputy, T0 + 29 * H, day)
    assert (second.level, second.role) == (2, "head")
    assert rules.escalation_due(_clock(level=2, last_escalated_at=T0), T0 + 99 * H, day) is None


def test_an_answered_complaint_is_in_breach_only_after_its_resolution_deadline():
    answered = _clock(state="in_progress", acknowledged_at=T0 + H)
    assert not rules.in_breach(answered, T0 + 50 * H)
    assert rules.in_breach(answered, T0 + 73 * H)
    assert not rules.in_breach(_clock(state="resolved"), T0 + 999 * H)


def test_severity_escalation_and_manual_steps():
    assert rules.escalation_at_opening("safety", "high").role == "head"
    assert rules.escalation_at_opening("staff_conduct", "high").reason == "severity"
    assert rules.escalation_at_opening("service", "high") is None
    assert rules.manual_escalation("open", 0).role == "deputy"
    assert rules.manual_escalation("in_progress", 1).role == "head"
    with pytest.raises(Conflict, match="head"):
        rules.manual_escalation("open", 2)
    with pytest.raises(Conflict):
        rules.manual_escalation("closed", 0)


def test_within_sla_includes_the_deadline_itself():
    assert rules.within_sla(T0, T0) and not rules.within_sla(T0 + timedelta(seconds=1), T0)
