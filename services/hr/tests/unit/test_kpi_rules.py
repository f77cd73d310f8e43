"""BLUEPRINT §6 / R2 §5.1 assessments as pure rules: scoring against targets (higher- and
lower-is-better), rating bands, template checks, periods, measuring and the weighted total."""

from datetime import UTC, date, datetime
from decimal import Decimal as D
from pathlib import Path
from uuid import uuid4

import pytest
from club_platform.errors import Conflict, Invalid

from club_hr.domain.kpis import (
    CATALOGUE,
    DEFAULT_TEMPLATES,
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
        "visits_served", "mean_csat", "upheld_complaints", "punctuality"]


def test_the_migration_seeds_the_same_defaults_as_the_domain():
    migration = next((Path(__file__).parents[2] / "migrations" / "versions")
                     .glob("0003_*.py"))
    namespace: dict = {}
    exec(compile(migration.read_text(), str(migration), "exec"), namespace)
    seeded = {role: [(c, w, D(t), D(x)) for c, w, t, x in rows]
              for role, rows in namespace["DEFAULTS"].items()}
    domain = {role: [(i.code, i.weight, i.target, i.worst) for i in items]
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
    seen = [obs("visit_served"), obs("visit_served"), obs("survey_rating", 5),
            obs("survey_rating", 4), obs("shift", 1), obs("shift", 0), obs("shift", 1),
            obs("shift", 1), obs("complaint_resolved", 10, within_sla=True),
            obs("complaint_resolved", 30, within_sla=False),
            obs("complaint_resolved", 20, within_sla=True),
            obs("complaint_resolved", 50, within_sla=True)]
    assert measure("visits_served", seen).value == 2
    assert measure("mean_csat", seen).value == D("4.5")
    assert measure("punctuality", seen).value == 75
    assert measure("complaints_within_sla", seen).value == 75
    assert measure("median_resolution_hours", seen).value == 25  # mean of the middle two
    assert len(measure("visits_served", seen).counted) == 2


def test_satisfaction_after_resolution_counts_reached_post_complaint_followups():
    seen = [obs("followup", reason="post_complaint", outcome="satisfied", on_time=True),
            obs("followup", reason="post_complaint", outcome="dissatisfied", on_time=False),
            obs("followup", reason="post_complaint", outcome="unreachable", on_time=True),
            obs("followup", reason="post_visit", outcome="satisfied", on_time=True)]
    assert measure("satisfaction_after_resolution", seen).value == 50
    assert measure("followups_on_time", seen).value == 75


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
    for code in CATALOGUE:
        measure(code, [])


# ---------------------------------------------------------------- assessing


ATTENDANT = DEFAULT_TEMPLATES["attendant"]


def test_the_total_is_the_weighted_mean_of_rounded_scores():
    seen = ([obs("visit_served") for _ in range(45)]
            + [obs("survey_rating", c) for c in (5, 4, 4)]
            + [obs("upheld_complaint")]
            + [obs("shift", 1)] * 4 + [obs("shift", 0)])
    result = assess(ATTENDANT, seen)
    by_code = {k.code: k for k in result.kpis}
    assert (by_code["visits_served"].value, by_code["visits_served"].score) == (45, D("3.75"))
    # 13/3 = 4.333… rounds to 4.33 and is scored as 4.33: 5 × 1.83 / 2 = 4.575 → 4.58
    assert (by_code["mean_csat"].value, by_code["mean_csat"].score) == (D("4.33"), D("4.58"))
    assert by_code["upheld_complaints"].score == D("3.33")
    assert (by_code["punctuality"].value, by_code["punctuality"].score) == (80, D("1.00"))
    # (30×3.75 + 30×4.58 + 20×3.33 + 20×1.00) / 100 = 3.365, half up → 3.37
    assert result.total == D("3.37")
    assert result.rating == "meets"


def test_an_unmeasured_kpi_is_left_out_of_the_weighted_mean():
    seen = [obs("visit_served") for _ in range(60)]  # no surveys, no shifts
    result = assess(ATTENDANT, seen)
    assert [k.code for k in result.measured] == ["visits_served", "upheld_complaints"]
    # (30×5 + 20×5) / 50
    assert result.total == 5 and result.rating == "outstanding"


def test_nothing_to_measure_is_nothing_to_assess():
    only_means = [TemplateItem("mean_csat", 100, D("4.5"), D("2.5"))]
    with pytest.raises(Conflict, match="nothing to assess"):
        assess(only_means, [])
