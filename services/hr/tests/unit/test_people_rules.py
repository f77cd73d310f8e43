"""Rewards (R1 §7.1, R2 §5.2–5.3), offboarding (R1 §6.3), gifts (R2 §6.3) and training
(R2 §4.2) as pure rules."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from club_platform.errors import Conflict, Invalid

from club_hr.domain import gifts, offboarding, rewards, training

NOW = datetime(2026, 6, 1, 10, tzinfo=UTC)


def test_each_reward_cites_its_clause():
    assert rewards.CLAUSES == {"commendation": "R1 §7.1", "bonus": "R2 §5.3",
                               "promotion": "R1 §7.1, R2 §5.2",
                               "training_opportunity": "R2 §5.3"}


def test_a_promotion_goes_one_step_up_the_department():
    rewards.check_grant("promotion", current_role="attendant", new_role="deputy", bonus=None)
    rewards.check_grant("promotion", current_role="deputy", new_role="head", bonus=None)
    with pytest.raises(Invalid, match="can be promoted to: none"):
        rewards.check_grant("promotion", current_role="head", new_role="deputy", bonus=None)
    with pytest.raises(Invalid, match="does not change the role"):
        rewards.check_grant("commendation", current_role="attendant", new_role="deputy",
                            bonus=None)


def test_only_a_bonus_carries_an_amount():
    rewards.check_grant("bonus", current_role="attendant", new_role=None, bonus=Decimal(1))
    with pytest.raises(Invalid, match="needs an amount"):
        rewards.check_grant("bonus", current_role="attendant", new_role=None, bonus=None)
    with pytest.raises(Invalid, match="carries no bonus"):
        rewards.check_grant("commendation", current_role="attendant", new_role=None,
                            bonus=Decimal(1))


def test_offboarding_completes_only_with_every_item_done():
    offboarding.check_complete(set(offboarding.CHECKLIST))
    with pytest.raises(Conflict) as refused:
        offboarding.check_complete({"badge_and_keys_returned"})
    assert refused.value.extra["missing"] == ["documents_returned_or_destroyed",
                                              "customer_data_access_revoked"]


def test_keeping_a_gift_awaits_approval_and_a_refusal_hands_it_over():
    assert gifts.status_for("accepted") == gifts.PENDING
    assert gifts.status_for("refused") == gifts.status_for("handed_over") == gifts.RECORDED
    gifts.check_decidable(gifts.PENDING)
    with pytest.raises(Conflict):
        gifts.check_decidable(gifts.APPROVED)
    assert gifts.decided_status(False) == gifts.REJECTED


def test_attendance_is_recorded_once_a_session_has_started_and_completed_once():
    later = NOW + timedelta(hours=1)
    with pytest.raises(Conflict, match="once the session has started"):
        training.check_can_record(training.SCHEDULED, later, NOW)
    training.check_can_record(training.SCHEDULED, NOW, NOW)
    with pytest.raises(Conflict, match="cancelled"):
        training.check_can_record(training.CANCELLED, NOW, NOW)
    training.check_can_complete(training.SCHEDULED, NOW, later)
    with pytest.raises(Conflict, match="already held"):
        training.check_can_complete(training.HELD, NOW, later)
    with pytest.raises(Invalid):
        training.check_session(NOW, NOW)
