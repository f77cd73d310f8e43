"""Customers' records and who may read them (R1 §4.4, §6.1–6.2; docs/authorization.md).

Personal data — name, phone, e-mail, preferences, notes and any free text written about a
customer — is encrypted at rest, never logged and never put on the bus. Reading it needs a
CRM role and a stated purpose, and every read is recorded in the access audit.
"""

from __future__ import annotations

import re
from enum import StrEnum

from club_platform.auth import Role
from club_platform.errors import ClubError, Invalid

# Membership tiers, lowest first. The bus carries the tier (customer.registered).
TIERS = ("standard", "silver", "gold", "platinum")

# Only CRM roles read personal data (docs/authorization.md, R1 §2.4): the specialists who call
# customers, and the head and deputy, who take escalated complaints (R2 §2.2) and so must be
# able to reach the customer. Attendants and HR never read it.
PII_READERS = (Role.HEAD, Role.DEPUTY, Role.CRM_SPECIALIST)
# Service staff record what a customer asks for (R1 §2.3) without reading the record back.
PII_WRITERS = (*PII_READERS, Role.ATTENDANT)
# Only the head audits who read what (R2 §2.2, the head leads and manages the department).
AUDITORS = (Role.HEAD,)


class AccessPurpose(StrEnum):
    """Why someone reads a customer's personal data. A closed list, so the audit log itself
    never holds free text about a customer, and reports can group by it."""

    COMPLAINT_HANDLING = "complaint_handling"        # R2 §3.3–3.4
    FOLLOWUP_CALL = "followup_call"                  # R1 §3.5, §5.4
    CUSTOMER_REQUEST = "customer_request"            # the customer asked for something
    ACCOUNT_MAINTENANCE = "account_maintenance"      # correct contact details, tier
    ERASURE_REQUEST = "erasure_request"
    INCIDENT_INVESTIGATION = "incident_investigation"  # R2 §7.2
    QUALITY_REVIEW = "quality_review"                # R2 §3.5, R1 §5.3
    DATA_SUBJECT_ACCESS = "data_subject_access"      # a member reading their own record


STAFF_PURPOSES = tuple(p.value for p in AccessPurpose if p is not AccessPurpose.DATA_SUBJECT_ACCESS)


class PurposeRequired(ClubError):
    status = 400
    code = "purpose_required"


def parse_purpose(stated: str | None) -> AccessPurpose:
    """The purpose a staff member stated (header `X-Access-Purpose` or `?purpose=`)."""
    if not stated:
        raise PurposeRequired(
            "reading a customer's personal data needs a stated purpose: send the "
            f"X-Access-Purpose header or ?purpose= (one of: {', '.join(STAFF_PURPOSES)})"
        )
    if stated not in STAFF_PURPOSES:
        raise PurposeRequired(f"unknown access purpose {stated[:40]!r}; use one of: "
                              f"{', '.join(STAFF_PURPOSES)}")
    return AccessPurpose(stated)


_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    if len(value) > 254 or not _EMAIL.match(value):
        raise Invalid("the e-mail address is not valid")
    return value


def normalise_phone(phone: str) -> str:
    """Digits with an optional leading +; spaces, dashes, dots and brackets are dropped."""
    value = phone.strip()
    plus = value.startswith("+")
    digits = re.sub(r"[\s\-.()]", "", value.removeprefix("+"))
    if not digits.isdigit() or not 6 <= len(digits) <= 20:
        raise Invalid("the phone number must have 6 to 20 digits (spaces, dashes, dots, "
                      "brackets and a leading + are allowed)")
    return ("+" if plus else "") + digits


def check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise Invalid(f"unknown membership tier {tier!r}; use one of: {', '.join(TIERS)}")
    return tier


_DIGIT_RUN = re.compile(r"\+?\d[\d\s\-.()]{4,}\d")


def redact(text: str, *, name: str | None, phone: str | None, email: str | None) -> str:
    """Replace a customer's own identifiers in free text that must leave the service (a
    complaint's resolution travels in complaint.resolved), so a slip of the keyboard does not
    put personal data on the bus (R1 §4.4, docs/events.md).

    The full name and each part of it of three letters or more, the e-mail address, and any
    run of digits that ends with the phone number's last seven digits (however it is spaced)
    become `[customer]`. It cannot catch a nickname; the text is the club's explanation, and
    the README asks staff to write it without personal details."""
    words = [name, email, *(name.split() if name else [])]
    for word in sorted({w for w in words if w and len(w) >= 3}, key=len, reverse=True):
        text = re.sub(re.escape(word), "[customer]", text, flags=re.IGNORECASE)
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) >= 7:
        def scrub(match: re.Match[str]) -> str:
            found = re.sub(r"\D", "", match.group())
            same = found[-7:] == digits[-7:] and len(found) >= 7
            return "[customer]" if same else match.group()

        text = _DIGIT_RUN.sub(scrub, text)
    return text
