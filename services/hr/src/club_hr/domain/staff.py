"""Staff and organisation (R1 §2, R2 §2): the roles of both regulations and the life of a
staff member on the register: active, suspended, offboarded."""

from __future__ import annotations

from typing import Literal, get_args

from club_platform.errors import Conflict

# R1 §2.1 (supervisor, service staff, CRM specialists), R2 §2.1 (head, deputy, attendants),
# and the HR administrator who keeps the register.
StaffRole = Literal["head", "deputy", "attendant", "crm_specialist", "hr_admin"]
STAFF_ROLES: tuple[str, ...] = get_args(StaffRole)

StaffStatus = Literal["active", "suspended", "offboarded"]

ACTIVE, SUSPENDED, OFFBOARDED = "active", "suspended", "offboarded"


def check_can_change(status: str, what: str) -> None:
    """An offboarded member's record is closed (R1 §6.3): nothing changes it any more."""
    if status == OFFBOARDED:
        raise Conflict(f"the staff member has been offboarded; cannot {what}")


def check_can_suspend(status: str) -> None:
    check_can_change(status, "suspend them")
    if status == SUSPENDED:
        raise Conflict("the staff member is already suspended")


def check_can_reinstate(status: str) -> None:
    check_can_change(status, "reinstate them")
    if status != SUSPENDED:
        raise Conflict("the staff member is not suspended")
