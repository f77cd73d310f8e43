"""The rules of service meetings and improvement actions (domain.meetings), without I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from club_platform.auth import Principal, Role
from club_platform.errors import Forbidden, Invalid

from club_crm.domain import meetings as rules

NOON = datetime(2030, 5, 6, 12, tzinfo=UTC)


def test_a_period_is_real_and_at_most_366_days():
    rules.check_period(NOON, NOON + timedelta(days=366))
    with pytest.raises(Invalid, match="before"):
        rules.check_period(NOON, NOON)
    with pytest.raises(Invalid, match="366"):
        rules.check_period(NOON, NOON + timedelta(days=367))


def test_an_action_is_open_overdue_or_done():
    due = NOON + timedelta(hours=1)
    assert rules.action_state(due, None, NOON) == "open"
    assert rules.action_state(due, None, due) == "open"          # due now is not late yet
    assert rules.action_state(due, None, due + timedelta(seconds=1)) == "overdue"
    assert rules.action_state(due, due + timedelta(days=3), due + timedelta(days=9)) == "done"
    assert rules.on_time(due, due) and not rules.on_time(due, due + timedelta(seconds=1))


def test_the_owner_or_a_supervisor_completes_an_action():
    owner = uuid4()
    rules.check_may_complete(Principal(id=owner, role=Role.ATTENDANT), owner)
    rules.check_may_complete(Principal(id=uuid4(), role=Role.DEPUTY), owner)
    rules.check_may_complete(Principal(id=uuid4(), role=Role.HEAD), owner)
    with pytest.raises(Forbidden):
        rules.check_may_complete(Principal(id=uuid4(), role=Role.CRM_SPECIALIST), owner)


def test_a_finding_converges_in_any_order():
    orders = [["open", "overdue", "closed"], ["closed", "open", "overdue"],
              ["overdue", "closed", "open"], ["overdue", "open"]]
    finals = []
    for order in orders:
        state = None
        for incoming in order:
            state = rules.finding_state(state, incoming)
        finals.append(state)
    assert finals == ["closed", "closed", "closed", "overdue"]


def test_unknown_ids_and_csat_mean():
    a, b, c = uuid4(), uuid4(), uuid4()
    assert rules.unknown([a, b, b, c], [a]) == sorted([b, c], key=str)
    assert rules.unknown([], [a]) == []
    assert rules.csat_mean(0, 0) is None and rules.csat_mean(7, 2) == 3.5
    assert rules.csat_mean(10, 3) == 3.33
