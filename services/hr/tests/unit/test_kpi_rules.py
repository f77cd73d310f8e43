"""services/hr/README.md / R2 §5.1 assessments as pure rules: scoring against targets (higher- and
lower-is-better), rating bands, template checks, periods, measuring and the weighted total."""

from datetime import UTC, date, datetime
from decimal import Decimal
from decimal import Decimal as D
from pathlib import Path
from uuid import uuid4

import pytest
from club_platform.errors import Conflict, Invalid

from club_hr.domain.kpis import (
    CATALOGUE,
    DEFAULT_TEMPLATES,
    NOT_ASSESSED,
    TOO_FEW,
    Basis,
    Direction,
    Observation,
    TemplateItem,
    assess,
    check_effective_from,
    check_period,
    check_template,
    measure,
    rating,
    rounded,
    score,
)

AT = datetime(2026, 3, 10, 12, tzinfo=UTC)


def obs(kind: str, value=None, **attrs) -> Observation:
    return Observation("test", uuid4(), kind, AT, None if value is None else D(str(value)),
                       attrs)


# ---------------------------------------------------------------- score


@pytest.mark.parametrize(("value", "expected"), [
    (60, 5), (90, 5), (30, D("2.5")), (0, 0), (-5, 0), (15, D("1.25")),
])
def test_higher_is_better_rises_linearly_from_worst_to_target(value, expected):
    assert score(Direction.HIGHER, D(value), target=D(60), worst=D(0)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (0, 5), (1, D("3.33")), (D("1.5"), D("2.5")), (3, 0), (7, 0),
])
def test_lower_is_better_falls_linearly_from_target_to_worst(value, expected):
    assert rounded(score(Direction.LOWER, D(value), target=D(0), worst=D(3))) == expected


def test_a_worst_above_zero_for_higher_is_better():
    # mean CSAT: target 4.5 scores 5, worst 2.5 scores 0, 3.5 is half way
    assert score(Direction.HIGHER, D("3.5"), D("4.5"), D("2.5")) == D("2.5")


@pytest.mark.parametrize(("total", "band"), [
    (D("5"), "outstanding"), (D("4.5"), "outstanding"), (D("4.49"), "good"),
    (D("3.5"), "good"), (D("3.49"), "meets"), (D("2.5"), "meets"),
    (D("2.49"), "needs_improvement"), (D("1.5"), "needs_improvement"),
    (D("1.49"), "unsatisfactory"), (D("0"), "unsatisfactory"),
])
def test_rating_bands(total, band):
    assert rating(total) == band


# ---------------------------------------------------------------- templates


def test_the_default_templates_are_valid_and_cover_the_blueprint_roles():
    assert set(DEFAULT_TEMPLATES) == {"attendant", "crm_specialist", "head", "deputy"}
    for items in DEFAULT_TEMPLATES.values():
        check_template(items)
    assert [i.code for i in DEFAULT_TEMPLATES["attendant"]] == [
        "visits_served", "mean_csat", "upheld_complaints", "shifts_attended"]


def test_the_migration_seeds_the_same_defaults_as_the_domain():
    # 0003 seeded the first defaults; 0006 replaced them with these.
    migration = next((Path(__file__).parents[2] / "migrations" / "versions")
                     .glob("0006_*.py"))
    namespace: dict = {}
    exec(compile(migration.read_text(), str(migration), "exec"), namespace)
    seeded = {role: [(c, w, D(t), D(x), b, m) for c, w, t, x, b, m in rows]
              for role, rows in namespace["DEFAULTS"].items()}
    domain = {role: [(i.code, i.weight, i.target, i.worst, i.basis.value, i.min_sample)
                     for i in items]
              for role, items in DEFAULT_TEMPLATES.items()}
    assert seeded == domain


def test_weights_must_sum_to_100():
    with pytest.raises(Invalid, match="sum to 100, not 90"):
        check_template([TemplateItem("visits_served", 50, D(60), D(0)),
                        TemplateItem("mean_csat", 40, D("4.5"), D("2.5"))])


def test_every_problem_of_a_template_is_named():
    with pytest.raises(Invalid) as refused:
        check_template([TemplateItem("smiles_per_hour", 50, D(1), D(0)),
                        TemplateItem("upheld_complaints", 50, D(3), D(0))])
    assert any("unknown KPI 'smiles_per_hour'" in p for p in refused.value.extra["problems"])
    assert any("lower-is-better" in p for p in refused.value.extra["problems"])


def test_a_kpi_may_appear_once_and_weigh_at_least_one():
    with pytest.raises(Invalid, match="appears twice"):
        check_template([TemplateItem("visits_served", 50, D(60), D(0)),
                        TemplateItem("visits_served", 50, D(60), D(0))])
    with pytest.raises(Invalid, match="between 1 and 100"):
        check_template([TemplateItem("visits_served", 100, D(60), D(0)),
                        TemplateItem("mean_csat", 0, D(5), D(1))])


def test_a_template_change_applies_only_from_a_future_date():
    check_effective_from(date(2026, 4, 1), today=date(2026, 3, 31))
    for day in (date(2026, 3, 31), date(2026, 3, 1)):
        with pytest.raises(Invalid, match="future"):
            check_effective_from(day, today=date(2026, 3, 31))


def test_a_period_must_not_end_before_it_starts_and_must_be_over():
    with pytest.raises(Invalid, match="before it starts"):
        check_period(date(2026, 3, 31), date(2026, 3, 1), today=date(2026, 5, 1))
    with pytest.raises(Invalid, match="not ended yet"):
        check_period(date(2026, 3, 1), date(2026, 3, 31), today=date(2026, 3, 31))
    with pytest.raises(Invalid, match="at most 366 days"):
        check_period(date(2024, 1, 1), date(2025, 12, 31), today=date(2026, 5, 1))
    check_period(date(2026, 3, 1), date(2026, 3, 31), today=date(2026, 4, 1))


# ---------------------------------------------------------------- measuring


def test_counts_means_shares_and_medians():
    seen = [obs("visit_served"), obs("visit_served"), obs("credited_survey", 5),
            obs("credited_survey", 4), obs("shift", 1, kept=True), obs("shift", 0),
            obs("shift", 1, kept=False), obs("shift", 1, kept=True),
            obs("complaint_resolved", 10, within_sla=True),
            obs("complaint_resolved", 30, within_sla=False),
            obs("complaint_resolved", 20, within_sla=True),
            obs("complaint_resolved", 50, within_sla=True)]
    assert measure("visits_served", seen).value == 2
    assert measure("mean_csat", seen).value == D("4.5")
    assert measure("punctuality", seen).value == 50  # kept: 2 of 4
    assert measure("shifts_attended", seen).value == 75  # came: 3 of 4
    assert measure("complaints_within_sla", seen).value == 75
    assert measure("median_resolution_hours", seen).value == 25  # mean of the middle two
    assert len(measure("visits_served", seen).counted) == 2


def test_satisfaction_after_resolution_counts_decided_calls_only():
    seen = [obs("resolution_followup", outcome="satisfied"),
            obs("resolution_followup", outcome="dissatisfied"),
            obs("resolution_followup", outcome="unreachable"),
            obs("resolution_followup", outcome="neutral"),
            obs("followup", reason="post_complaint", outcome="satisfied", on_time=True),
            obs("followup", reason="post_complaint", outcome="neutral", on_time=False),
            obs("followup", reason="post_visit", outcome="satisfied", on_time=True)]
    found = measure("satisfaction_after_resolution", seen)
    assert found.value == 50  # 1 of the 2 decided; neutral and unreachable count neither way
    assert "2 neutral or unreachable" in found.how
    assert measure("followups_on_time", seen).value == D(200) / 3


def test_a_neutral_call_alone_leaves_satisfaction_unmeasured_not_zero():
    found = measure("satisfaction_after_resolution",
                    [obs("resolution_followup", outcome="neutral")])
    assert found.value is None


def test_a_survey_weighs_by_the_part_in_the_visit():
    # host: weight 1 on a 2; a 30-of-90-minute add-on: weight 1/3 on a 5
    seen = [obs("credited_survey", 2, weight="1"), obs("credited_survey", 5, weight="0.3333"),
            obs("credited_survey", 1, weight="0")]
    found = measure("mean_csat", seen)
    # (1×2 + 0.3333×5) / 1.3333 = 3.6666 / 1.3333 = 2.75
    assert rounded(found.value) == D("2.75") and found.sample == 2


def test_department_kpis():
    seen = [obs("visit") for _ in range(40)] + [obs("complaint"), obs("complaint"),
                                               obs("survey", 3), obs("survey", 5)]
    assert measure("complaints_per_100_visits", seen).value == 5
    assert measure("department_csat", seen).value == 4
    assert measure("team_training_compliance", seen).value is None


def test_a_count_with_nothing_counted_is_zero_but_a_mean_is_not_measured():
    assert measure("upheld_complaints", []).value == 0
    assert measure("mean_csat", []).value is None


def test_every_kpi_of_the_catalogue_can_be_measured():
    """With nothing observed, every KPI says what it looked for: a count is zero, a mean or a
    share has no value (not measured, never a zero a person would be scored on)."""
    for code in CATALOGUE:
        found = measure(code, [])
        assert found.counted == (), code
        assert found.value in (None, Decimal(0)), (code, found.value)
        assert found.how, code


# ---------------------------------------------------------------- assessing


ATTENDANT = DEFAULT_TEMPLATES["attendant"]


def test_the_total_is_the_weighted_mean_of_rounded_scores():
    seen = ([obs("visit_served") for _ in range(45)]
            + [obs("credited_survey", c) for c in (5, 4, 4)]
            + [obs("upheld_complaint")]
            + [obs("shift", 1)] * 4 + [obs("shift", 0)])
    result = assess(ATTENDANT, seen, shifts_due=20)
    by_code = {k.code: k for k in result.kpis}
    # target 3 per shift × 20 shifts = 60: 5 × 45 / 60 = 3.75
    assert (by_code["visits_served"].value, by_code["visits_served"].score) == (45, D("3.75"))
    assert by_code["visits_served"].target_for_period == 60
    # 13/3 = 4.333… rounds to 4.33 and is scored as 4.33: 5 × 1.83 / 2 = 4.575 → 4.58
    assert (by_code["mean_csat"].value, by_code["mean_csat"].score) == (D("4.33"), D("4.58"))
    assert by_code["upheld_complaints"].score == D("3.33")
    # 4 of 5 shifts attended = 80 %: 5 × (80 − 50) / (100 − 50) = 3.00
    assert (by_code["shifts_attended"].value, by_code["shifts_attended"].score) == (80, D(3))
    # (30×3.75 + 30×4.58 + 20×3.33 + 20×3.00) / 100 = 3.765, half up → 3.77
    assert result.total == D("3.77")
    assert result.rating == "good"
    assert by_code["visits_served"].explanation == (
        "value = 45 visits served = 45.00; target 3 per shift × 20 shifts due = 60, worst 0 × "
        "20 = 0; score = 5 × (45 − 0) / (60 − 0), clamped to 0–5 = 3.75")


def test_an_unmeasured_kpi_is_left_out_of_the_weighted_mean():
    seen = [obs("visit_served") for _ in range(60)]  # no surveys, no shifts
    result = assess(ATTENDANT, seen, shifts_due=20)
    assert [k.code for k in result.measured] == ["visits_served", "upheld_complaints"]
    # (30×5 + 20×5) / 50
    assert result.total == 5 and result.rating == "outstanding"


def test_no_shift_due_means_not_assessed_on_counts_never_zero():
    seen = [obs("credited_survey", c) for c in (4, 4, 5)]
    result = assess(ATTENDANT, seen, shifts_due=0)
    by_code = {k.code: k for k in result.kpis}
    assert by_code["visits_served"].status == NOT_ASSESSED
    assert by_code["visits_served"].score is None and by_code["visits_served"].value == 0
    assert by_code["upheld_complaints"].status == NOT_ASSESSED
    # only mean_csat is scored: 13/3 = 4.33 → 5 × 1.83 / 2 = 4.58
    assert [k.code for k in result.measured] == ["mean_csat"]
    assert result.total == D("4.58")
    # on leave all period, nothing at all: nothing to assess, not a perfect score
    with pytest.raises(Conflict, match="nothing to assess"):
        assess(ATTENDANT, [], shifts_due=0)


def test_a_mean_on_too_small_a_sample_is_shown_not_scored():
    result = assess(ATTENDANT, [obs("credited_survey", 1), obs("credited_survey", 2),
                                obs("shift", 1)], shifts_due=1)
    csat = next(k for k in result.kpis if k.code == "mean_csat")
    assert (csat.status, csat.value, csat.score) == (TOO_FEW, D("1.5"), None)
    assert "fewer than the 3" in csat.explanation
    assert "mean_csat" not in [k.code for k in result.measured]


def test_per_shift_only_for_counts_and_min_sample_only_for_means():
    with pytest.raises(Invalid) as refused:
        check_template([TemplateItem("mean_csat", 50, D("4.5"), D("2.5"), Basis.PER_SHIFT),
                        TemplateItem("visits_served", 50, D(3), D(0), min_sample=3)])
    problems = refused.value.extra["problems"]
    assert any("only counts can be judged per shift" in p for p in problems)
    assert any("minimum sample applies to means" in p for p in problems)


def test_nothing_to_measure_is_nothing_to_assess():
    only_means = [TemplateItem("mean_csat", 100, D("4.5"), D("2.5"))]
    with pytest.raises(Conflict, match="nothing to assess"):
        assess(only_means, [])


def test_head_and_deputy_are_judged_on_their_own_clauses():
    # R2 §2.2: the head leads the department, the deputy follows up (escalations)
    head = {i.code for i in DEFAULT_TEMPLATES["head"]}
    deputy = {i.code for i in DEFAULT_TEMPLATES["deputy"]}
    assert "escalations_resolved_in_time" in deputy - head
    assert "complaints_per_100_visits" in head - deputy
    assert "team_shifts_attended" in head & deputy
    seen = [obs("escalation_outcome", resolved_within_sla=True),
            obs("escalation_outcome", resolved_within_sla=False),  # resolved late or open
            obs("team_shift", 1), obs("team_shift", 1), obs("team_shift", 1),
            obs("team_shift", 0)]
    assert measure("escalations_resolved_in_time", seen).value == 50
    assert measure("team_shifts_attended", seen).value == 75
