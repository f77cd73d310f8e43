"""Offboarding (R1 §6.3: "on leaving or changing post, staff immediately return or destroy all
work files and materials").

A checklist, each item done only with evidence (who checked what, a receipt or a record
number). The staff member is offboarded (`staff.offboarded`) only when every item is done.
"""

from __future__ import annotations

from typing import Literal, get_args

from club_platform.errors import Conflict

ChecklistItem = Literal[
    "documents_returned_or_destroyed",  # R1 §6.3: work files and materials
    "customer_data_access_revoked",  # R1 §6.1–6.2: no access to customer information
    "badge_and_keys_returned",  # door and badge systems stop recognising them
]
CHECKLIST: tuple[str, ...] = get_args(ChecklistItem)

Reason = Literal["resignation", "termination", "retirement", "end_of_contract", "other"]


def check_complete(done: set[str]) -> None:
    missing = [item for item in CHECKLIST if item not in done]
    if missing:
        raise Conflict(f"the offboarding checklist is not complete: {', '.join(missing)} "
                       "still need evidence (R1 §6.3)", missing=missing)
