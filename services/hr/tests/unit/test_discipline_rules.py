"""R1 §7.2, R2 §8: the ladder proposes from prior decided cases in a rolling window, a person
decides within their authority, and decisions can be appealed."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import uuid4

import pytest
from club_platform.errors import Conflict, Forbidden, Invalid

from club_hr.domain.discipline import (
    DEFAULT_RULES,
    PriorCase,
    Rule,
    check_appeal,
    check_authority,
    check_deviation,
    check_reduction,
    check_rule,
    penalty,
    propose,
)

RULES = {r.code: r for r in DEFAULT_RULES}
LATE = RULES["late_arrival"]
NOW = datetime(2026, 6, 30, 9, tzinfo=UTC)


def prior(days_ago: float, action: str, rule_ref: str = "R2 §6.1") -> PriorCase:
    return PriorCase(uuid4(), rule_ref, NOW - timedelta(days=days_ago), action)


def test_a_first_offence_gets_the_first_step():
    assert propose(LATE, [], NOW).action == "verbal_warning"


def test_a_third_lateness_within_30_days_is_a_fine():
    priors = [prior(20, "verbal_warning"), prior(10, "written_warning")]
    proposal = propose(LATE, priors, NOW)
    assert proposal.action == "fine"
    assert [p.action for p in proposal.counted] == ["verbal_warning", "written_warning"]


def test_offences_outside_the_window_or_against_another_clause_do_not_count():
    priors = [prior(31, "written_warning"), prior(5, "fine", rule_ref="R1 §4.2")]
    assert propose(LATE, priors, NOW).action == "verbal_warning"
    assert propose(LATE, [prior(30, "verbal_warning")], NOW).action == "written_warning"


def test_late_arrival_and_early_leave_climb_one_ladder_as_they_break_one_clause():
    early = RULES["early_leave"]
    assert propose(early, [prior(3, "verbal_warning")], NOW).action == "written_warning"


def test_later_offences_do_not_count_for_an_earlier_one():
    assert propose(LATE, [prior(-1, "written_warning")], NOW).action == "verbal_warning"


def test_the_ladder_climbs_from_the_gravest_action_taken():
    # a first offence decided, with reasons, as a fine: the next is a suspension
    assert propose(LATE, [prior(3, "fine")], NOW).action == "suspension"
    assert propose(LATE, [prior(3, "termination")], NOW).action == "termination"


def test_grave_rules_start_higher_and_skip_steps():
    privacy = RULES["privacy_breach"]
    assert propose(privacy, [], NOW).action == "written_warning"
    assert propose(privacy, [prior(100, "written_warning", "R1 §4.4")], NOW).action == (
        "suspension")


def test_the_head_decides_everything_the_deputy_all_but_termination():
    for action in ("verbal_warning", "written_warning", "fine", "suspension", "termination"):
        check_authority("head", action)
    for action in ("verbal_warning", "written_warning", "fine", "suspension"):
        check_authority("deputy", action)
    with pytest.raises(Forbidden, match="only the department head may decide a termination"):
        check_authority("deputy", "termination")
    for role in ("attendant", "crm_specialist", "hr_admin"):
        with pytest.raises(Forbidden):
            check_authority(role, "verbal_warning")


def test_a_fine_or_suspension_takes_the_rules_usual_amount_unless_given():
    assert penalty(LATE, "fine", None, None).fine == Decimal("50.00")
    assert penalty(LATE, "fine", Decimal("80"), None).fine == Decimal("80")
    assert penalty(LATE, "suspension", None, None).suspension_days == 1
    assert penalty(LATE, "verbal_warning", None, None).fine is None
    with pytest.raises(Invalid, match="no usual fine"):
        penalty(RULES["privacy_breach"], "fine", None, None)
    with pytest.raises(Invalid, match="carries no fine"):
        penalty(LATE, "written_warning", Decimal("10"), None)
    with pytest.raises(Invalid, match="no suspension days"):
        penalty(LATE, "fine", Decimal("10"), 3)


def test_deciding_other_than_the_ladder_proposes_needs_a_reason():
    proposal = propose(LATE, [], NOW)
    check_deviation("verbal_warning", proposal, None)
    check_deviation("written_warning", proposal, "rude to the customer as well")
    with pytest.raises(Invalid, match="proposes verbal_warning"):
        check_deviation("written_warning", proposal, "  ")


def test_rules_are_checked():
    check_rule(LATE)
    with pytest.raises(Invalid, match="must cite a clause"):
        check_rule(replace(LATE, rule_ref="working hours"))
    with pytest.raises(Invalid, match="must climb"):
        check_rule(replace(LATE, ladder=("fine", "verbal_warning")))
    with pytest.raises(Invalid, match="unknown actions"):
        check_rule(replace(LATE, ladder=("verbal_warning", "flogging")))
    with pytest.raises(Invalid, match="window"):
        check_rule(replace(LATE, window_days=0))
    check_rule(Rule("phone_use", "Private phone use on duty", "R2 §6.2", "minor", 30,
                    ("verbal_warning", "written_warning")))


def test_appeals_within_the_window_once_and_reductions_only_downwards():
    decided_at = NOW - timedelta(days=3)
    check_appeal("decided", decided_at, NOW, 14, already_appealed=False)
    with pytest.raises(Conflict, match="window of 14 days has passed"):
        check_appeal("decided", decided_at, decided_at + timedelta(days=15), 14, False)
    with pytest.raises(Conflict, match="only a decided case"):
        check_appeal("open", None, NOW, 14, False)
    with pytest.raises(Conflict, match="already been appealed"):
        check_appeal("decided", decided_at, NOW, 14, True)
    check_reduction("suspension", "fine")
    with pytest.raises(Invalid, match="less severe"):
        check_reduction("fine", "suspension")


def test_the_migration_seeds_the_same_catalogue_as_the_domain():
    migration = next((Path(__file__).parents[2] / "migrations" / "versions")
                     .glob("0004_*.py"))
    namespace: dict = {}
    exec(compile(migration.read_text(), str(migration), "exec"), namespace)
    seeded = {code: (title, ref, severity, window, tuple(ladder),
                     Decimal(fine) if fine else None, days)
              for code, title, ref, severity, window, ladder, fine, days in namespace["RULES"]}
    domain = {r.code: (r.title, r.rule_ref, r.severity, r.window_days, r.ladder, r.fine,
                       r.suspension_days) for r in DEFAULT_RULES}
    assert seeded == domain
    for rule in DEFAULT_RULES:
        check_rule(rule)
