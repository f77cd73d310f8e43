"""Survey rules without I/O (R2 §3.5): single use, expiry, the visit's staff, the figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from club_platform.errors import Conflict

from club_crm.domain import Gone
from club_crm.domain.surveys import Invitation, Tally, check_can_answer, figures, staff_of_visit

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C = (UUID(int=n) for n in (1, 2, 3))


def test_a_link_answers_once_and_not_after_it_expires():
    check_can_answer(Invitation(expires_at=T0, responded_at=None), T0)
    with pytest.raises(Conflict, match="already used"):
        check_can_answer(Invitation(expires_at=T0, responded_at=T0), T0)
    with pytest.raises(Gone, match="expired"):
        check_can_answer(Invitation(expires_at=T0, responded_at=None), T0 + timedelta(seconds=1))


def test_the_staff_of_a_visit_each_once_in_order():
    assert staff_of_visit([A, B], B, [C, A]) == [A, B, C]
    assert staff_of_visit([], A, []) == [A]


def test_figures_csat_share_response_rate_and_nps():
    f = figures(Tally(invitations=4, responses=3, csat_sum=12, csat_top_two=2, nps_answers=4,
                      promoters=2, detractors=1))
    assert (f.response_rate, f.csat_mean, f.csat_percent, f.nps) == (75.0, 4.0, 66.7, 25.0)
    empty = figures(Tally(2, 0, 0, 0, 0, 0, 0))
    assert (empty.response_rate, empty.csat_percent, empty.nps) == (0.0, None, None)
