"""The skills matrix (R2 §4.1: the department trains its attendants in communication, service
awareness, teamwork and service knowledge; R2 §4.2 regular training; R2 §5.3 training
opportunities as an incentive).

**Skills.** The four of R2 §4.1 are seeded; the HR admin adds the club's own (a code and a
name). A code is the club's word for the skill, in snake case.

**Levels 0–4**, the same scale for every skill:

| level | name         | what it means                                                         |
|-------|--------------|-----------------------------------------------------------------------|
| 0     | not_yet      | not yet assessed as able; needs the training before doing it alone    |
| 1     | learning     | does it with guidance from a colleague                                |
| 2     | independent  | does it alone, to the club's standard, in ordinary situations         |
| 3     | proficient   | handles the difficult cases too (an upset member, a busy evening)     |
| 4     | mentor       | could teach it: coaches colleagues, leads the training on it          |

A level is **assessed by the head or the deputy** (R2 §2.2: they lead the department's staff)
with the day it was assessed and a note. Every assessment is kept; the current level is the
latest by the day assessed (then by when it was recorded), so back-filling an older one does
not overwrite a newer one. Someone never assessed is at level 0.

**Training raises skills, once confirmed.** A session declares which skills it raises, by how
many levels (`raise_by`) and never above which (`up_to`). Once the session has been held, every
attendee recorded as present gets one *proposal* per declared skill: from their current level
to `min(current + raise_by, up_to)`, none when they are already there. Only the head or the
deputy confirming a proposal changes the level; a rejected one changes nothing.
"""

from __future__ import annotations

import re

from club_platform.errors import Conflict, Invalid

LEVELS: dict[int, str] = {0: "not_yet", 1: "learning", 2: "independent", 3: "proficient",
                          4: "mentor"}
MIN_LEVEL, MAX_LEVEL = 0, 4

R2_SKILLS = ("communication", "service_awareness", "teamwork", "service_knowledge")

CODE = re.compile(r"^[a-z][a-z0-9_]{1,47}$")

PROPOSED, CONFIRMED, REJECTED = "proposed", "confirmed", "rejected"


def check_code(code: str) -> None:
    if not CODE.fullmatch(code):
        raise Invalid("a skill code is 2–48 lower-case letters, digits and underscores, "
                      "starting with a letter")


def proposed_level(current: int, raise_by: int, up_to: int) -> int | None:
    """The level a training proposes, or None when it would not raise the current one."""
    target = min(current + raise_by, up_to)
    return target if target > current else None


def check_raise(raise_by: int, up_to: int) -> None:
    if not 1 <= raise_by <= MAX_LEVEL:
        raise Invalid(f"a session raises a skill by 1 to {MAX_LEVEL} levels")
    if not 1 <= up_to <= MAX_LEVEL:
        raise Invalid(f"a session's cap is a level from 1 to {MAX_LEVEL}")


def check_open(status: str) -> None:
    if status != PROPOSED:
        raise Conflict(f"the proposal is already {status}")
