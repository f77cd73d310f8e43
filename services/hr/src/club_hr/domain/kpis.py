"""Assessments (R2 §5.1: "clear assessment indicators (KPIs) and methods"), exactly as
services/hr/README.md describes them.

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

**Targets that fit the period.** A template item states its target on one of two bases:
`period` (the value itself: a share, a mean, a median, or a count whose target does not
depend on how long someone worked, like upheld complaints) or `per_shift` (a count whose
target and worst value are per shift worked: a period's target is `target × shifts due`).
Counts of work done grow with the time worked, so they are judged per shift: a day with one
shift, a week with five and a month with twenty-two are each judged against what that many
shifts could do, and a person with no shift due in the period (none scheduled, or all on
approved leave) is *not assessed* on them: shown as such, out of the weighted total. Shifts
rather than days, because part-time staff and people on leave work fewer of them. For a
template that judges shift work, every count (upheld complaints too) is not assessed when no
shift was due: a count of nothing over a period without work says nothing, so someone on leave
all period has nothing to assess rather than a perfect score.

**Too small a sample.** An item may set `min_sample`: a mean or share measured on fewer
observations (e.g. fewer than three surveys) is shown with its value but *not scored*, and
stays out of the weighted total.

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


class Basis(StrEnum):
    PERIOD = "period"  # the target is the value for the whole period
    PER_SHIFT = "per_shift"  # the target is per shift due; counts only


@dataclass(frozen=True)
class KpiDefinition:
    code: str
    direction: Direction
    unit: str
    description: str
    counts: frozenset[str]  # the kinds of observation it counts
    is_count: bool = False  # a plain count (may be judged per shift; always measured)


COUNT_KPIS = frozenset({"visits_served", "upheld_complaints", "incidents_reported"})


def _kpi(code: str, direction: Direction, unit: str, counts: set[str],
         description: str) -> KpiDefinition:
    return KpiDefinition(code, direction, unit, description, frozenset(counts),
                         code in COUNT_KPIS)


# Observations about the whole department rather than one staff member.
DEPARTMENT_KINDS = frozenset({"visit", "survey", "complaint", "training_attendance",
                              "escalation"})

# Observations HR derives at assessment time rather than keeping as facts.
DERIVED_KINDS = frozenset({"shift", "training_attendance", "resolution_followup",
                           "credited_survey", "team_shift", "escalation_outcome"})


H, L = Direction.HIGHER, Direction.LOWER

# The KPIs the service can measure. Templates choose from these.
CATALOGUE: dict[str, KpiDefinition] = {k.code: k for k in (
    # attendants (R1 §8.2: responsible for customer satisfaction and service quality)
    _kpi("visits_served", H, "visits", {"visit_served"},
         "Completed visits the staff member hosted or served (visit.completed)"),
    _kpi("mean_csat", H, "CSAT 1–5", {"credited_survey"},
         "Mean CSAT of the surveys about visits they served, each weighted by their part in "
         "the visit: 1 for the host, else their share of the visit's service time "
         "(survey.submitted, visit.completed)"),
    _kpi("upheld_complaints", L, "complaints", {"upheld_complaint"},
         "Complaints upheld against them, counted when resolved (complaint.resolved)"),
    _kpi("punctuality", H, "% of shifts", {"shift"},
         "Share of their shifts due in the period (over, not on approved leave) that they "
         "kept: clocked in, neither late nor early beyond the grace period and any authorised "
         "late start or early leave (R2 §6.1)"),
    _kpi("shifts_attended", H, "% of shifts due", {"shift"},
         "Share of their shifts due in the period (over, not on approved leave) that they "
         "came to. Lateness is judged by the discipline ladder, not here, so it counts once "
         "(R2 §6.1, §8)"),
    _kpi("incidents_reported", H, "incidents", {"incident_reported"},
         "Safety and facility incidents they reported (incident.reported; R2 §7.2)"),
    # CRM specialists (R1 §2.4, §5.4, §8.3)
    _kpi("complaints_within_sla", H, "% of complaints", {"complaint_resolved"},
         "Share of the complaints they resolved within the resolution deadline "
         "(complaint.resolved; credited to the resolver)"),
    _kpi("first_response_on_time", H, "% of complaints", {"first_response"},
         "Share of the complaints whose first response fell due while they held them that "
         "were answered in time (complaint.escalated, complaint.resolved)"),
    _kpi("median_resolution_hours", L, "hours", {"complaint_resolved"},
         "Median hours from opening to resolution of the complaints they resolved"),
    _kpi("followups_on_time", H, "% of follow-ups", {"followup"},
         "Share of their follow-up calls completed by the due time (followup.completed)"),
    _kpi("satisfaction_after_resolution", H, "% of decided follow-ups",
         {"resolution_followup"},
         "Of the follow-up calls after complaints they resolved (whoever called), the share "
         "that found the customer satisfied; neutral and unreachable outcomes count neither "
         "way (followup.completed)"),
    # head and deputy (R1 §8.1: the department as a whole)
    _kpi("department_csat", H, "CSAT 1–5", {"survey"},
         "Mean CSAT of every survey in the period"),
    _kpi("complaints_per_100_visits", L, "complaints per 100 visits",
         {"complaint", "visit"},
         "Complaints opened per 100 completed visits, department-wide"),
    # the head leads the department, the deputy follows up on tasks (R2 §2.2)
    _kpi("team_shifts_attended", H, "% of the department's shifts due",
         {"team_shift"},
         "Coverage: share of every staff member's shifts due in the period (over, not on "
         "approved leave) that were worked"),
    _kpi("escalations_resolved_in_time", H, "% of escalations",
         {"escalation_outcome"},
         "Share of the complaints escalated to the deputy in the period that were resolved "
         "within their resolution deadline (complaint.escalated, complaint.resolved); one "
         "still open counts as not in time"),
    _kpi("team_training_compliance", H, "% of required attendances",
         {"training_attendance"},
         "Share of required attendances at training sessions held in the period that were "
         "attended (R2 §4.2–4.3)"),
    # the department's own work (R1 §2.2, R2 §2.2, §3.5, §7.1): in no default template; a
    # template adds them where the role owns such work
    _kpi("tasks_on_time", H, "% of tasks due", {"task"},
         "Share of their tasks due in the period that were completed by the due time "
         "(task.completed, task.overdue); one overdue and never completed is not on time, one "
         "overdue then completed late counts once, as late"),
    _kpi("findings_closed_on_time", H, "% of findings closed", {"finding_closed"},
         "Share of the safety findings they closed in the period that were closed by the due "
         "time (safety.finding_closed; R2 §7.1)"),
    _kpi("actions_on_time", H, "% of actions completed", {"improvement_action"},
         "Share of the improvement actions from service meetings they completed in the period "
         "that were completed by the due time (improvement.action_completed; R2 §3.5)"),
)}


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class TemplateItem:
    code: str
    weight: int
    target: Decimal
    worst: Decimal
    basis: Basis = Basis.PERIOD
    min_sample: int = 0  # fewer observations than this: shown, not scored


def _d(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


# The defaults. Counts of work done are per shift due; shares, means and medians per period.
DEFAULT_TEMPLATES: dict[str, tuple[TemplateItem, ...]] = {
    "attendant": (
        TemplateItem("visits_served", 30, _d(3), _d(0), Basis.PER_SHIFT),
        TemplateItem("mean_csat", 30, _d("4.5"), _d("2.5"), min_sample=3),
        TemplateItem("upheld_complaints", 20, _d(0), _d(3)),
        TemplateItem("shifts_attended", 20, _d(100), _d(50)),
    ),
    "crm_specialist": (
        TemplateItem("complaints_within_sla", 20, _d(95), _d(50)),
        TemplateItem("first_response_on_time", 20, _d(95), _d(50)),
        TemplateItem("median_resolution_hours", 20, _d(24), _d(96)),
        TemplateItem("followups_on_time", 20, _d(95), _d(50)),
        TemplateItem("satisfaction_after_resolution", 20, _d(80), _d(20)),
    ),
    # R2 §2.2: the head leads and manages the department (its results, coverage, training);
    # the deputy assists and follows up (the escalated complaints are theirs, and coverage).
    "head": (
        TemplateItem("department_csat", 30, _d("4.5"), _d("2.5"), min_sample=3),
        # a rate per 100 visits on a few dozen visits is noise: one complaint in 13 visits
        # is 7.7 per 100
        TemplateItem("complaints_per_100_visits", 20, _d(1), _d(10), min_sample=50),
        TemplateItem("team_training_compliance", 20, _d(100), _d(50)),
        TemplateItem("team_shifts_attended", 30, _d(100), _d(80)),
    ),
    "deputy": (
        TemplateItem("escalations_resolved_in_time", 40, _d(100), _d(50)),
        TemplateItem("team_shifts_attended", 20, _d(100), _d(80)),
        TemplateItem("department_csat", 20, _d("4.5"), _d("2.5"), min_sample=3),
        TemplateItem("team_training_compliance", 20, _d(100), _d(50)),
    ),
}


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
        if item.basis is Basis.PER_SHIFT and not definition.is_count:
            problems.append(f"{item.code} is not a count: only counts can be judged per shift")
        if item.min_sample and definition.is_count:
            problems.append(f"{item.code} is a count: a minimum sample applies to means and "
                            f"shares only")
        if not 0 <= item.min_sample <= 1000:
            problems.append(f"the min_sample of {item.code} must be between 0 and 1000")
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
    how: str = ""  # the arithmetic, in words and numbers
    sample: int | None = None  # how many observations a mean or share rests on


def _n(value: Decimal) -> str:
    """A number as the explanations show it: no trailing zeros."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _of(observations: Iterable[Observation], kind: str) -> list[Observation]:
    return [o for o in observations if o.kind == kind]


def _count(found: list[Observation], what: str) -> Measurement:
    return Measurement(Decimal(len(found)), tuple(found), f"{len(found)} {what}")


def _mean(found: list[Observation], what: str) -> Measurement:
    if not found:
        return Measurement(None, (), f"no {what}", 0)
    total = sum((_d(o.value) for o in found), Decimal(0))
    return Measurement(total / len(found), tuple(found),
                       f"({' + '.join(_n(_d(o.value)) for o in found)}) / {len(found)} {what}",
                       len(found))


def _weighted_mean(found: list[Observation], what: str) -> Measurement:
    """Mean of the observations' values weighted by attrs["weight"]; weight-0 ones drop out."""
    found = [o for o in found if _d(o.attrs.get("weight", 1)) > 0]
    if not found:
        return Measurement(None, (), f"no {what}", 0)
    weights = sum((_d(o.attrs.get("weight", 1)) for o in found), Decimal(0))
    total = sum((_d(o.attrs.get("weight", 1)) * _d(o.value) for o in found), Decimal(0))
    terms = " + ".join(f"{_n(_d(o.attrs.get('weight', 1)))}×{_n(_d(o.value))}" for o in found)
    return Measurement(total / weights, tuple(found),
                       f"({terms}) / {_n(weights)} (weight: 1 as host, else share of the "
                       f"visit's service time) over {len(found)} {what}", len(found))


def _share(found: list[Observation], hit: Callable[[Observation], bool], what: str
           ) -> Measurement:
    """Percentage of `found` for which `hit(observation)` holds."""
    if not found:
        return Measurement(None, (), f"no {what}", 0)
    hits = sum(1 for o in found if hit(o))
    return Measurement(Decimal(100) * hits / len(found), tuple(found),
                       f"100 × {hits} / {len(found)} {what}", len(found))


def _median(found: list[Observation], what: str) -> Measurement:
    if not found:
        return Measurement(None, (), f"no {what}", 0)
    values = sorted(_d(o.value) for o in found)
    return Measurement(_d(median(values)), tuple(found),
                       f"median of {', '.join(_n(v) for v in values)} ({len(found)} {what})",
                       len(found))


def _per_100(complaints: list[Observation], visits: list[Observation]) -> Measurement:
    if not visits:
        return Measurement(None, (), "no completed visits", 0)
    return Measurement(Decimal(100) * len(complaints) / len(visits),
                       tuple(complaints) + tuple(visits),
                       f"100 × {len(complaints)} complaints / {len(visits)} visits", len(visits))


def measure(code: str, observations: Sequence[Observation]) -> Measurement:
    """The value of KPI `code` over the observations of one staff member and period (their own
    facts plus the department-wide ones), with what it counted."""
    definition = CATALOGUE.get(code)
    if definition is None:
        raise Invalid(f"unknown KPI {code!r}")
    observations = [o for o in observations if o.kind in definition.counts]
    match code:
        case "visits_served":
            return _count(_of(observations, "visit_served"), "visits served")
        case "mean_csat":
            return _weighted_mean(_of(observations, "credited_survey"), "surveys")
        case "upheld_complaints":
            return _count(_of(observations, "upheld_complaint"), "complaints upheld")
        case "punctuality":
            return _share(_of(observations, "shift"), lambda o: o.attrs.get("kept") is True,
                          "shifts due kept")
        case "shifts_attended":
            return _share(_of(observations, "shift"), lambda o: o.value == 1,
                          "shifts due attended")
        case "incidents_reported":
            return _count(_of(observations, "incident_reported"), "incidents reported")
        case "complaints_within_sla":
            return _share(_of(observations, "complaint_resolved"),
                          lambda o: o.attrs.get("within_sla") is True,
                          "complaints resolved by them, within the deadline")
        case "first_response_on_time":
            return _share(_of(observations, "first_response"),
                          lambda o: o.attrs.get("met") is True,
                          "first responses due while they held the complaint, answered in "
                          "time")
        case "median_resolution_hours":
            return _median(_of(observations, "complaint_resolved"), "complaints resolved")
        case "followups_on_time":
            return _share(_of(observations, "followup"), lambda o: o.attrs.get("on_time") is True,
                          "follow-ups, on time")
        case "satisfaction_after_resolution":
            calls = _of(observations, "resolution_followup")
            decided = [o for o in calls if o.attrs.get("outcome") in ("satisfied",
                                                                        "dissatisfied")]
            found = _share(decided, lambda o: o.attrs.get("outcome") == "satisfied",
                           "decided follow-ups after their resolutions, satisfied")
            left_out = len(calls) - len(decided)
            if left_out:
                found = Measurement(found.value, found.counted, found.how + f" ({left_out} "
                                    "neutral or unreachable, counted neither way)",
                                    found.sample)
            return found
        case "department_csat":
            return _mean(_of(observations, "survey"), "surveys")
        case "complaints_per_100_visits":
            return _per_100(_of(observations, "complaint"), _of(observations, "visit"))
        case "team_shifts_attended":
            return _share(_of(observations, "team_shift"), lambda o: o.value == 1,
                          "shifts due across the department, worked")
        case "escalations_resolved_in_time":
            return _share(_of(observations, "escalation_outcome"),
                          lambda o: o.attrs.get("resolved_within_sla") is True,
                          "complaints escalated to the deputy, resolved in time")
        case "team_training_compliance":
            return _share(_of(observations, "training_attendance"), lambda o: o.value == 1,
                          "required attendances, attended")
        case "tasks_on_time":
            return _share(_of(observations, "task"), lambda o: o.attrs.get("on_time") is True,
                          "tasks due, completed on time")
        case "findings_closed_on_time":
            return _share(_of(observations, "finding_closed"),
                          lambda o: o.attrs.get("on_time") is True,
                          "findings closed, by the due time")
        case "actions_on_time":
            return _share(_of(observations, "improvement_action"),
                          lambda o: o.attrs.get("on_time") is True,
                          "improvement actions completed, by the due time")
    raise AssertionError(f"{code} is in the catalogue but has no measurement")


# Why a KPI has no score.
SCORED = "scored"
NOT_MEASURED = "not_measured"  # nothing to measure in the period (no surveys, no shifts due)
NOT_ASSESSED = "not_assessed"  # judged per shift, and no shift was due
TOO_FEW = "too_few"  # measured on fewer observations than the template's min_sample


@dataclass(frozen=True)
class KpiResult:
    code: str
    weight: int
    target: Decimal
    worst: Decimal
    value: Decimal | None  # rounded; None when not measured
    score: Decimal | None  # rounded; None unless scored
    counted: tuple[Observation, ...]
    status: str = SCORED
    basis: Basis = Basis.PERIOD
    target_for_period: Decimal | None = None
    worst_for_period: Decimal | None = None
    explanation: str = ""

    @property
    def measured(self) -> bool:
        return self.status == SCORED


@dataclass(frozen=True)
class AssessmentResult:
    kpis: tuple[KpiResult, ...]
    total: Decimal
    rating: str

    @property
    def measured(self) -> tuple[KpiResult, ...]:
        return tuple(k for k in self.kpis if k.measured)


def _score_text(direction: Direction, value: Decimal, target: Decimal, worst: Decimal,
                result: Decimal) -> str:
    if direction is Direction.HIGHER:
        raw = f"5 × ({_n(value)} − {_n(worst)}) / ({_n(target)} − {_n(worst)})"
    else:
        raw = f"5 × ({_n(worst)} − {_n(value)}) / ({_n(worst)} − {_n(target)})"
    return f"score = {raw}, clamped to 0–5 = {result:.2f}"


def uses_shifts(items: Sequence[TemplateItem]) -> bool:
    """Whether the template judges work done in shifts (per-shift targets, or shifts)."""
    return any(i.basis is Basis.PER_SHIFT or "shift" in CATALOGUE[i.code].counts
               for i in items)


def assess_item(item: TemplateItem, observations: Sequence[Observation],
                shifts_due: int, *, shift_work: bool = False) -> KpiResult:
    """One template item over the period: its value, the target for this period, its score (or
    why it has none), and the arithmetic in words."""
    definition = CATALOGUE[item.code]
    found = measure(item.code, observations)
    if item.basis is Basis.PER_SHIFT:
        target, worst = item.target * shifts_due, item.worst * shifts_due
        target_text = (f"target {_n(item.target)} per shift × {shifts_due} shifts due = "
                       f"{_n(target)}, worst {_n(item.worst)} × {shifts_due} = {_n(worst)}")
    else:
        target, worst = item.target, item.worst
        target_text = f"target {_n(target)}, worst {_n(worst)} for the period"
    base = dict(code=item.code, weight=item.weight, target=item.target, worst=item.worst,
                basis=item.basis)
    if found.value is None:
        return KpiResult(**base, value=None, score=None, counted=(), status=NOT_MEASURED,
                         explanation=f"not measured: {found.how}")
    value = rounded(found.value)
    how = f"value = {found.how} = {value:.2f}"
    if shifts_due == 0 and (item.basis is Basis.PER_SHIFT
                            or (shift_work and definition.is_count)):
        # Nobody can serve visits, or earn complaints, in a period with no work due: a count
        # of nothing then says nothing.
        return KpiResult(**base, value=value, score=None, counted=found.counted,
                         status=NOT_ASSESSED,
                         explanation=f"{how}; not assessed: no shift was due in the period "
                                     f"(none scheduled, or all on approved leave)")
    if found.sample is not None and found.sample < item.min_sample:
        return KpiResult(**base, value=value, score=None, counted=found.counted,
                         status=TOO_FEW, target_for_period=target, worst_for_period=worst,
                         explanation=f"{how}; not scored: {found.sample} observations, fewer "
                                     f"than the {item.min_sample} the template asks for")
    result = rounded(score(definition.direction, value, target, worst))
    arithmetic = _score_text(definition.direction, value, target, worst, result)
    return KpiResult(**base, value=value, score=result, counted=found.counted,
                     target_for_period=target, worst_for_period=worst,
                     explanation=f"{how}; {target_text}; {arithmetic}")


def assess(items: Sequence[TemplateItem], observations: Sequence[Observation],
           shifts_due: int = 0) -> AssessmentResult:
    shift_work = uses_shifts(items)
    results = [assess_item(item, observations, shifts_due, shift_work=shift_work)
               for item in items]
    counted = [k for k in results if k.measured]
    if not counted:
        raise Conflict("nothing to assess: none of the template's KPIs can be scored in the "
                       "period (nothing to measure, no shift due, or too small a sample)")
    weights = sum(k.weight for k in counted)
    total = rounded(sum((k.weight * k.score for k in counted), Decimal(0)) / weights)
    return AssessmentResult(tuple(results), total, rating(total))
