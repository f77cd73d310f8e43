"""Discipline (R1 §7.2: "violations are penalised by severity: warning, fine, up to
termination"; R2 §8.2: "warning, fine, suspension, etc."; R2 §6 the working discipline).

**The rule catalogue** is data the HR admin keeps: each violation code cites its clause
(`rule_ref`, e.g. "R2 §6.1"), has a severity, an escalation *ladder* (a climb through
verbal_warning → written_warning → fine → suspension → termination, possibly starting higher
or skipping steps for graver violations) and a rolling *window* in days.

**The ladder proposes; a person decides.** For a new case, the prior cases that count are the
staff member's *decided* cases (not dismissed, withdrawn or overturned on appeal) against the
same clause whose violation happened within the window before this one. With none, the
proposal is the ladder's first step; otherwise it is the first step more severe than the most
severe action already taken, or the ladder's last step when there is none higher. So three
latenesses within 30 days, decided as proposed, climb verbal warning → written warning → fine.

**Who decides** (R2 §2.2, the head leads and the deputy assists): warnings, fines and
suspensions by the head or the deputy; termination only by the head. Deciding other than the
ladder proposes needs a reason. The staff member may appeal within the appeal window; the head
decides the appeal: the decision is upheld, reduced to a less severe action, or overturned.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Literal, get_args
from uuid import UUID

from club_platform.errors import Conflict, Forbidden, Invalid

Action = Literal["verbal_warning", "written_warning", "fine", "suspension", "termination"]
ACTIONS: tuple[str, ...] = get_args(Action)  # in rising severity
Severity = Literal["minor", "major", "gross"]
SEVERITIES: tuple[str, ...] = get_args(Severity)

CODE = re.compile(r"^[a-z][a-z0-9_]{1,63}$")
# "R2 §6.1", "R1 §4.4/§6", "R1 §7.2, R2 §8.2"
CLAUSE = re.compile(r"^R[12] §\d+(\.\d+)?(\s*[,/]\s*(R[12] )?§\d+(\.\d+)?)*$")

# Case states. Decided and appealed cases carry an action and count for the ladder.
OPEN, DECIDED, DISMISSED, WITHDRAWN, APPEALED, OVERTURNED = (
    "open", "decided", "dismissed", "withdrawn", "appealed", "overturned")
COUNTING = (DECIDED, APPEALED)


def severity_of(action: str) -> int:
    return ACTIONS.index(action)


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    rule_ref: str
    severity: str
    window_days: int
    ladder: tuple[str, ...]
    fine: Decimal | None = None  # the usual fine, when the ladder reaches a fine
    suspension_days: int | None = None  # the usual suspension
    active: bool = True


_FULL = ("verbal_warning", "written_warning", "fine", "suspension", "termination")
_GRAVE = ("written_warning", "fine", "suspension", "termination")
_GRAVEST = ("written_warning", "suspension", "termination")

DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("late_arrival", "Late arrival beyond the grace period", "R2 §6.1", "minor", 30, _FULL,
         Decimal("50.00"), 1),
    Rule("early_leave", "Early leave beyond the grace period", "R2 §6.1", "minor", 30, _FULL,
         Decimal("50.00"), 1),
    Rule("upheld_complaint", "A customer complaint upheld against the staff member",
         "R1 §8.2", "major", 90, _FULL, Decimal("100.00"), 3),
    Rule("dress_code", "Improper dress (slippers, open-toed shoes)", "R1 §4.2", "minor", 30,
         _FULL, Decimal("50.00"), 1),
    Rule("gift_acceptance", "Accepting a customer's gift or benefit privately", "R2 §6.3",
         "major", 180, _GRAVE, Decimal("200.00"), 5),
    Rule("privacy_breach", "Invading a customer's privacy or discriminating", "R1 §4.4",
         "gross", 365, _GRAVEST, None, 7),
    Rule("confidentiality_breach", "Disclosing customer information or business secrets",
         "R1 §6.1", "gross", 365, _GRAVEST, None, 7),
    Rule("private_dealings", "Personal invitations or private deals with customers",
         "R1 §4.5", "major", 180, _GRAVE, Decimal("200.00"), 5),
    Rule("facility_misuse", "Misusing club facilities or their records", "R2 §6.4", "minor",
         90, _FULL, Decimal("100.00"), 2),
)


def check_rule(rule: Rule) -> None:
    problems = []
    if not CODE.match(rule.code):
        problems.append("a rule code is 2–64 lower-case letters, digits or underscores")
    if not CLAUSE.match(rule.rule_ref):
        problems.append(f"rule_ref {rule.rule_ref!r} must cite a clause, like 'R2 §6.1'")
    if rule.severity not in SEVERITIES:
        problems.append(f"severity must be one of {', '.join(SEVERITIES)}")
    if not 1 <= rule.window_days <= 3650:
        problems.append("the window is 1 to 3650 days")
    unknown = [a for a in rule.ladder if a not in ACTIONS]
    if not rule.ladder:
        problems.append("the ladder needs at least one action")
    elif unknown:
        problems.append(f"unknown actions {unknown} (known: {', '.join(ACTIONS)})")
    elif [severity_of(a) for a in rule.ladder] != sorted({severity_of(a) for a in rule.ladder}):
        problems.append("the ladder must climb: each action more severe than the one before")
    if rule.fine is not None and rule.fine <= 0:
        problems.append("a usual fine must be more than 0")
    if rule.suspension_days is not None and not 1 <= rule.suspension_days <= 365:
        problems.append("a usual suspension is 1 to 365 days")
    if problems:
        raise Invalid("; ".join(problems), problems=problems)


# ---------------------------------------------------------------- the ladder


@dataclass(frozen=True)
class PriorCase:
    case_id: UUID
    rule_ref: str
    occurred_at: datetime
    action: str


@dataclass(frozen=True)
class Proposal:
    action: str
    counted: tuple[PriorCase, ...]  # the prior cases it climbed from


def counted_priors(rule: Rule, priors: Iterable[PriorCase],
                   occurred_at: datetime) -> tuple[PriorCase, ...]:
    since = occurred_at - timedelta(days=rule.window_days)
    return tuple(sorted(
        (p for p in priors
         if p.rule_ref == rule.rule_ref and since <= p.occurred_at < occurred_at),
        key=lambda p: p.occurred_at,
    ))


def propose(rule: Rule, priors: Iterable[PriorCase], occurred_at: datetime) -> Proposal:
    counted = counted_priors(rule, priors, occurred_at)
    if not counted:
        return Proposal(rule.ladder[0], ())
    gravest = max(severity_of(p.action) for p in counted)
    higher = [a for a in rule.ladder if severity_of(a) > gravest]
    return Proposal(higher[0] if higher else rule.ladder[-1], counted)


# ---------------------------------------------------------------- deciding


def check_authority(role: str, action: str) -> None:
    """Warnings, fines and suspensions: the head or the deputy; termination: the head."""
    if role not in ("head", "deputy"):
        raise Forbidden("only the department head or the deputy decides discipline cases")
    if action == "termination" and role != "head":
        raise Forbidden("only the department head may decide a termination (R1 §7.2)")


@dataclass(frozen=True)
class Penalty:
    action: str
    fine: Decimal | None
    suspension_days: int | None


def penalty(rule: Rule, action: str, fine: Decimal | None,
            suspension_days: int | None) -> Penalty:
    """The action with its amount or length: given, or the rule's usual one."""
    if action == "fine":
        amount = fine if fine is not None else rule.fine
        if amount is None:
            raise Invalid(f"a fine needs an amount: rule {rule.code} has no usual fine")
        if amount <= 0:
            raise Invalid("a fine must be more than 0")
        if suspension_days is not None:
            raise Invalid("a fine has no suspension days")
        return Penalty(action, amount, None)
    if action == "suspension":
        days = suspension_days if suspension_days is not None else rule.suspension_days
        if days is None:
            raise Invalid(f"a suspension needs a number of days: rule {rule.code} has no usual "
                          f"length")
        if fine is not None:
            raise Invalid("a suspension carries no fine")
        return Penalty(action, None, days)
    if fine is not None or suspension_days is not None:
        raise Invalid(f"a {action.replace('_', ' ')} carries no fine and no suspension")
    return Penalty(action, None, None)


def check_deviation(action: str, proposal: Proposal, reason: str | None) -> None:
    if action != proposal.action and not (reason and reason.strip()):
        raise Invalid(f"the ladder proposes {proposal.action}; deciding {action} instead needs a "
                      f"reason")


def check_open(status: str) -> None:
    if status != OPEN:
        raise Conflict(f"the case is {status}, not open")


# ---------------------------------------------------------------- appeals

AppealOutcome = Literal["upheld", "reduced", "overturned"]


def check_appeal(status: str, decided_at: datetime | None, now: datetime, window_days: int,
                 already_appealed: bool) -> None:
    if status != DECIDED or decided_at is None:
        raise Conflict(f"only a decided case can be appealed; this one is {status}")
    if already_appealed:
        raise Conflict("the case has already been appealed")
    if now > decided_at + timedelta(days=window_days):
        raise Conflict(f"the appeal window of {window_days} days has passed")


def check_reduction(current: str, reduced_to: str) -> None:
    if severity_of(reduced_to) >= severity_of(current):
        raise Invalid(f"a reduced action must be less severe than {current}")
