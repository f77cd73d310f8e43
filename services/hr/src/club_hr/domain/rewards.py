"""Rewards (R1 §7.1: "outstanding staff are rewarded: commendation, promotion, etc."; R2 §5.2:
assessment results are the basis for promotion and rewards; R2 §5.3: an incentive scheme).

An outstanding assessment *proposes* a reward; the department head grants it. Each kind of
reward cites the clause it rests on.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from club_platform.errors import Invalid

RewardKind = Literal["commendation", "bonus", "promotion", "training_opportunity"]
KINDS: tuple[str, ...] = get_args(RewardKind)

CLAUSES = {
    "commendation": "R1 §7.1",
    "bonus": "R2 §5.3",
    "promotion": "R1 §7.1, R2 §5.2",
    "training_opportunity": "R2 §5.3",
}

# `reward.granted` (v1 and v2) declares its kind as an enum of the first three; adding a value
# would break its subscribers (shared/contracts' compatibility test says so), so a training
# opportunity travels as the non-monetary recognition it is, a commendation, with its own
# clause (R2 §5.3) in `rule_ref`; HR keeps the kind and the session it opens.
PUBLISHED_KIND = {"training_opportunity": "commendation"}

# Promotion paths within the department (R1 §2.1, R2 §2.1).
PROMOTIONS = {
    "attendant": ("crm_specialist", "deputy"),
    "crm_specialist": ("deputy",),
    "deputy": ("head",),
}

PROPOSED_FOR_OUTSTANDING = "commendation"


def check_grant(kind: str, *, current_role: str, new_role: str | None,
                bonus: Decimal | None, training_session: bool = False) -> None:
    if kind == "bonus":
        if bonus is None or bonus <= 0:
            raise Invalid("a bonus needs an amount above 0")
    elif bonus is not None:
        raise Invalid(f"a {kind} carries no bonus amount")
    if kind == "promotion":
        allowed = PROMOTIONS.get(current_role, ())
        if new_role not in allowed:
            options = ", ".join(allowed) or "none"
            raise Invalid(f"a {current_role} can be promoted to: {options}")
    elif new_role is not None:
        raise Invalid(f"a {kind} does not change the role")
    if kind == "training_opportunity" and not training_session:
        raise Invalid("a training opportunity names the training session it is a place on "
                      "(training_session_id)")
    if kind != "training_opportunity" and training_session:
        raise Invalid(f"a {kind} names no training session")
