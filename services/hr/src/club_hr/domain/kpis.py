"""Assessments (R2 §5.1: "clear assessment indicators (KPIs) and methods"), exactly as
BLUEPRINT §6 describes them.

**Templates.** Each role has a KPI template: a list of KPIs from the catalogue below, each
with a whole-number weight (the weights sum to 100), a *target* and a *worst* value. The HR
admin changes templates as data; a version takes effect from a future date, and a period is
assessed with the version in force on its first day, so a change applies to the next period
and never to one already over.

**Scoring a KPI (0–5 against its target).** Every KPI has a fixed direction. The score rises
linearly from 0 at `worst` to 5 at `target` and is clamped to [0, 5]:

    higher is better (target > worst):  score = 5 × clamp((value − worst) / (target − worst))
    lower is better  (target < worst):  score = 5 × clamp((worst − value) / (worst − target))

so meeting or beating the target scores 5, and being at or beyond `worst` scores 0. `worst`
makes a target of 0 usable (e.g. no upheld complaints: target 0, worst 3 → one upheld
complaint scores 3.33).

**Rounding.** A KPI's value is rounded to 2 decimal places (half up); its score is computed
from that rounded value and rounded to 2 places; the total is the weighted mean of the rounded
scores, rounded to 2 places; the rating comes from the rounded total. So anyone can recompute
a published score, total and rating from the published values.

**Nothing to measure.** A KPI that needs a denominator (a mean, a share, a median) and has no
observations in the period (no surveys, no shifts) is *not measured*: it is left out of the
weighted mean (the total is the weighted mean over the measured KPIs) and out of the
published `kpis`. Counts are always measured (0 is a count). When no KPI is measured there is
nothing to assess.

**Rating bands.** outstanding ≥ 4.5, good ≥ 3.5, meets ≥ 2.5, needs_improvement ≥ 1.5, else
unsatisfactory.

**Explaining itself.** Every measurement lists the observations it counted: the KPI facts
(each keyed by the `ce_id` of the event it came from), shifts, or training attendances.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from statistics import median
from typing import Any
from uuid import UUID

from club_platform.errors import Conflict, Invalid


class Direction(StrEnum):
    HIGHER = "higher_is_better"
    LOWER = "lower_is_better"


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    direction: Direction
    unit: str
    description: str
    counts: frozenset[str]  # the kinds of observation it counts


def _kpi(code: str, direction: Direction, unit: str, counts: set[str],
         description: str) -> KpiDefinition:
    return KpiDefinition(code, direction, unit, description, frozenset(counts))


# Observations about the whole department rather than one staff member.
DEPARTMENT_KINDS = frozenset({"visit", "survey", "complaint", "training_attendance"})


H, L = Direction.HIGHER, Direction.LOWER

# The KPIs the service can measure. Templates choose from these.
CATALOGUE: dict[str, KpiDefinition] = {k.code: k for k in (
    # attendants (R1 §8.2: responsible for customer satisfaction and service quality)
    _kpi("visits_served", H, "visits", {"visit_served"},
         "Completed visits the staff member hosted or served (visit.completed)"),
    _kpi("mean_csat", H, "CSAT 1–5", {"survey_rating"},
         "Mean CSAT of the surveys about visits they served (survey.submitted)"),
    _kpi("upheld_complaints", L, "complaints", {"upheld_complaint"},
         "Complaints upheld against them, counted when resolved (complaint.resolved)"),
    _kpi("punctuality", H, "% of shifts", {"shift"},
         "Share of their shifts in the period, already over, that they kept: clocked in, "
         "neither late nor early beyond the grace period (R2 §6.1)"),
    _kpi("incidents_reported", H, "incidents", {"incident_reported"},
         "Safety and facility incidents they reported (incident.reported; R2 §7.2)"),
    # CRM specialists (R1 §2.4, §5.4, §8.3)
    _kpi("complaints_within_sla", H, "% of complaints", {"complaint_resolved"},
         "Share of the complaints they resolved within the SLA (complaint.resolved)"),
    _kpi("median_resolution_hours", L, "hours", {"complaint_resolved"},
         "Median hours from opening to resolution of the complaints they resolved"),
    _kpi("followups_on_time", H, "% of follow-ups", {"followup"},
         "Share of their follow-up calls completed by the due time (followup.completed)"),
    _kpi("satisfaction_after_resolution", H, "% of reached customers",
         {"followup"},
         "Share of their post-complaint follow-ups that reached the customer and found them "
         "satisfied (followup.completed)"),
    # head and deputy (R1 §8.1: the department as a whole)
    _kpi("department_csat", H, "CSAT 1–5", {"survey"},
         "Mean CSAT of every survey in the period"),
    _kpi("complaints_per_100_visits", L, "complaints per 100 visits",
         {"complaint", "visit"},
         "Complaints opened per 100 completed visits, department-wide"),
    _kpi("team_training_compliance", H, "% of required attendances",
         {"training_attendance"},
         "Share of required attendances at training sessions held in the period that were "
         "attended (R2 §4.2–4.3)"),
)}


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class TemplateItem:
    code: str
    weight: int
    target: Decimal
    worst: Decimal


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


# BLUEPRINT §6 defaults. Targets are per assessment period (a month, usually).
DEFAULT_TEMPLATES: dict[str, tuple[TemplateItem, ...]] = {
    "attendant": (
        TemplateItem("visits_served", 30, _d(60), _d(0)),
        TemplateItem("mean_csat", 30, _d("4.5"), _d("2.5")),
        TemplateItem("upheld_complaints", 20, _d(0), _d(3)),
        TemplateItem("punctuality", 20, _d(100), _d(75)),
    ),
    "crm_specialist": (
        TemplateItem("complaints_within_sla", 30, _d(95), _d(50)),
        TemplateItem("median_resolution_hours", 20, _d(24), _d(96)),
        TemplateItem("followups_on_time", 25, _d(95), _d(50)),
        TemplateItem("satisfaction_after_resolution", 25, _d(80), _d(20)),
    ),
    "head": (
        TemplateItem("department_csat", 40, _d("4.5"), _d("2.5")),
        TemplateItem("complaints_per_100_visits", 30, _d(1), _d(10)),
        TemplateItem("team_training_compliance", 30, _d(100), _d(50)),
    ),
}
DEFAULT_TEMPLATES["deputy"] = DEFAULT_TEMPLATES["head"]


def check_template(items: Sequence[TemplateItem]) -> None:
    """Refuse a template that cannot be scored, naming every problem."""
    problems = []
    if not items:
        problems.append("a template needs at least one KPI")
    seen = set()
    for item in items:
        definition = CATALOGUE.get(item.code)
        if definition is None:
            problems.append(f"unknown KPI {item.code!r} (known: {', '.join(sorted(CATALOGUE))})")
            continue
        if item.code in seen:
            problems.append(f"KPI {item.code!r} appears twice")
        seen.add(item.code)
        if not 1 <= item.weight <= 100:
            problems.append(f"the weight of {item.code} must be between 1 and 100")
        if definition.direction is Direction.HIGHER and not item.target > item.worst:
            problems.append(f"{item.code} is higher-is-better: its target must be above its "
                            f"worst value")
        if definition.direction is Direction.LOWER and not item.target < item.worst:
            problems.append(f"{item.code} is lower-is-better: its target must be below its "
                            f"worst value")
    total = sum(item.weight for item in items)
    if items and total != 100:
        problems.append(f"the weights must sum to 100, not {total}")
    if problems:
        raise Invalid("; ".join(problems), problems=problems)


def check_effective_from(effective_from: date, today: date) -> None:
    """A change applies to a future period, never to one already running or over."""
    if effective_from <= today:
        raise Invalid(f"a template change takes effect from a future date: effective_from "
                      f"must be after {today.isoformat()}")


# ---------------------------------------------------------------- periods


MAX_PERIOD_DAYS = 366


def check_period(period_start: date, period_end: date, today: date) -> None:
    if period_end < period_start:
        raise Invalid(f"the period ends ({period_end.isoformat()}) before it starts "
                      f"({period_start.isoformat()})")
    if (period_end - period_start).days + 1 > MAX_PERIOD_DAYS:
        raise Invalid(f"a period may last at most {MAX_PERIOD_DAYS} days")
    if period_end >= today:
        assessable = period_end + timedelta(days=1)
        raise Invalid(f"the period has not ended yet: it can be assessed from "
                      f"{assessable.isoformat()}")


# ---------------------------------------------------------------- scoring

TWO_PLACES = Decimal("0.01")
FIVE = Decimal(5)


def rounded(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def score(direction: Direction, value: Decimal, target: Decimal, worst: Decimal) -> Decimal:
    """0–5, linear from `worst` (0) to `target` (5), clamped; unrounded."""
    if direction is Direction.HIGHER:
        fraction = (value - worst) / (target - worst)
    else:
        fraction = (worst - value) / (worst - target)
    return FIVE * min(Decimal(1), max(Decimal(0), fraction))


def rating(total: Decimal) -> str:
    if total >= Decimal("4.5"):
        return "outstanding"
    if total >= Decimal("3.5"):
        return "good"
    if total >= Decimal("2.5"):
        return "meets"
    if total >= Decimal("1.5"):
        return "needs_improvement"
    return "unsatisfactory"


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Observation:
    """One thing a KPI can count: a KPI fact (source = the topic, source_id = the event's
    ce_id), a shift (source "shift") or a training attendance (source "training")."""

    source: str
    source_id: UUID
    kind: str
    occurred_at: datetime
    value: Decimal | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measurement:
    value: Decimal | None  # None: nothing to measure in the period
    counted: tuple[Observation, ...]


def _of(observations: Iterable[Observation], kind: str) -> list[Observation]:
    return [o for o in observations if o.kind == kind]


def _count(found: list[Observation]) -> Measurement:
    return Measurement(Decimal(len(found)), tuple(found))


def _mean(found: list[Observation]) -> Measurement:
    if not found:
        return Measurement(None, ())
    return Measurement(sum((_d(o.value) for o in found), Decimal(0)) / len(found), tuple(found))


def _share(found: list[Observation], hit: Callable[[Observation], bool]) -> Measurement:
    """Percentage of `found` for which `hit(observation)` holds."""
    if not found:
        return Measurement(None, ())
    hits = sum(1 for o in found if hit(o))
    return Measurement(Decimal(100) * hits / len(found), tuple(found))


def _median(found: list[Observation]) -> Measurement:
    if not found:
        return Measurement(None, ())
    return Measurement(_d(median(_d(o.value) for o in found)), tuple(found))


def _per_100(complaints: list[Observation], visits: list[Observation]) -> Measurement:
    if not visits:
        return Measurement(None, ())
    return Measurement(Decimal(100) * len(complaints) / len(visits),
                       tuple(complaints) + tuple(visits))


def measure(code: str, observations: Sequence[Observation]) -> Measurement:
    """The value of KPI `code` over the observations of one staff member and period (their own
    facts plus the department-wide ones), with what it counted."""
    definition = CATALOGUE.get(code)
    if definition is None:
        raise Invalid(f"unknown KPI {code!r}")
    observations = [o for o in observations if o.kind in definition.counts]
    match code:
        case "visits_served":
            return _count(_of(observations, "visit_served"))
        case "mean_csat":
            return _mean(_of(observations, "survey_rating"))
        case "upheld_complaints":
            return _count(_of(observations, "upheld_complaint"))
        case "punctuality":
            return _share(_of(observations, "shift"), lambda o: o.value == 1)
        case "incidents_reported":
            return _count(_of(observations, "incident_reported"))
        case "complaints_within_sla":
            return _share(_of(observations, "complaint_resolved"),
                          lambda o: o.attrs.get("within_sla") is True)
        case "median_resolution_hours":
            return _median(_of(observations, "complaint_resolved"))
        case "followups_on_time":
            return _share(_of(observations, "followup"), lambda o: o.attrs.get("on_time") is True)
        case "satisfaction_after_resolution":
            reached = [o for o in _of(observations, "followup")
                       if o.attrs.get("reason") == "post_complaint"
                       and o.attrs.get("outcome") != "unreachable"]
            return _share(reached, lambda o: o.attrs.get("outcome") == "satisfied")
        case "department_csat":
            return _mean(_of(observations, "survey"))
        case "complaints_per_100_visits":
            return _per_100(_of(observations, "complaint"), _of(observations, "visit"))
        case "team_training_compliance":
            return _share(_of(observations, "training_attendance"), lambda o: o.value == 1)
    raise AssertionError(f"{code} is in the catalogue but has no measurement")


@dataclass(frozen=True)
class KpiResult:
    code: str
    weight: int
    target: Decimal
    worst: Decimal
    value: Decimal | None  # rounded; None when not measured
    score: Decimal | None  # rounded; None when not measured
    counted: tuple[Observation, ...]

    @property
    def measured(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class AssessmentResult:
    kpis: tuple[KpiResult, ...]
    total: Decimal
    rating: str

    @property
    def measured(self) -> tuple[KpiResult, ...]:
        return tuple(k for k in self.kpis if k.measured)


def assess(items: Sequence[TemplateItem], observations: Sequence[Observation]
           ) -> AssessmentResult:
    results = []
    for item in items:
        definition = CATALOGUE[item.code]
        measured = measure(item.code, observations)
        if measured.value is None:
            results.append(KpiResult(item.code, item.weight, item.target, item.worst,
                                     None, None, ()))
            continue
        value = rounded(measured.value)
        results.append(KpiResult(
            item.code, item.weight, item.target, item.worst, value,
            rounded(score(definition.direction, value, item.target, item.worst)),
            measured.counted,
        ))
    counted = [k for k in results if k.measured]
    if not counted:
        raise Conflict("nothing to assess: none of the template's KPIs has anything to measure "
                       "in the period")
    weights = sum(k.weight for k in counted)
    total = rounded(sum((k.weight * k.score for k in counted), Decimal(0)) / weights)
    return AssessmentResult(tuple(results), total, rating(total))
