"""The gift register (R2 §6.3: "no accepting customer gifts privately, and no asking for or
taking benefits"). A gift offered by a customer is declared, whatever happened to it: refused,
handed over to the club, or accepted — and keeping it needs the head's or the deputy's
approval. A declared gift is not a private one; an undeclared one is a case under R2 §6.3.
"""

from __future__ import annotations

from typing import Literal

from club_platform.errors import Conflict

Disposition = Literal["refused", "handed_over", "accepted"]

RECORDED, PENDING, APPROVED, REJECTED = "recorded", "pending_approval", "approved", "rejected"


def status_for(disposition: str) -> str:
    return PENDING if disposition == "accepted" else RECORDED


def check_decidable(status: str) -> None:
    if status != PENDING:
        raise Conflict(f"only a gift awaiting approval can be decided; this one is {status}")


def decided_status(approved: bool) -> str:
    # Not approved: the gift goes to the club after all (it is handed over).
    return APPROVED if approved else REJECTED
