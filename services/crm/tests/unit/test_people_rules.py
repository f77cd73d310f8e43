"""Rules about customers and staff without I/O: purposes, contact details, redaction of text
that leaves the service, fair assignment (R1 §2.4, §4.4, §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
from club_platform.errors import Invalid

from club_crm.domain.customers import (
    AccessPurpose,
    PurposeRequired,
    normalise_email,
    normalise_phone,
    parse_purpose,
    redact,
)
from club_crm.domain.followups import Candidate, choose_assignee, is_overdue

A, B, C = (UUID(int=n) for n in (1, 2, 3))
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_a_purpose_is_stated_from_the_list():
    assert parse_purpose("followup_call") is AccessPurpose.FOLLOWUP_CALL
    for stated in (None, "", "because", "data_subject_access"):
        with pytest.raises(PurposeRequired):
            parse_purpose(stated)


def test_contact_details_are_normalised():
    assert normalise_email("  Wang.Fang@Example.COM ") == "wang.fang@example.com"
    assert normalise_phone("+86 (138) 0000-1111") == "+8613800001111"
    assert normalise_phone("138.0000.1111") == "13800001111"
    for bad in ("12ab", "12345", "+"):
        with pytest.raises(Invalid):
            normalise_phone(bad)
    with pytest.raises(Invalid):
        normalise_email("no-at-sign")


def test_redaction_catches_the_name_its_parts_the_email_and_the_phone_however_written():
    text = ("Dear Wang Fang, Ms wang agreed; mail WANG.FANG@example.com or call "
            "+86 138-0000-1111 / 138 0000 1111. Ticket 4400012345.")
    out = redact(text, name="Wang Fang", phone="+8613800001111",
                 email="wang.fang@example.com")
    assert out == ("Dear [customer], Ms [customer] agreed; mail [customer] or call "
                   "[customer] / [customer]. Ticket 4400012345.")
    assert redact("nothing here", name=None, phone=None, email=None) == "nothing here"


def test_fair_assignment_least_open_then_longest_idle_then_id():
    assert choose_assignee([]) is None
    assert choose_assignee([Candidate(A, 3, None), Candidate(B, 1, T0)]) == B
    # A tie on open work: whoever was given work longest ago; never before anyone.
    assert choose_assignee([Candidate(A, 1, T0), Candidate(B, 1, T0 - timedelta(hours=1)),
                            Candidate(C, 1, None)]) == C
    assert choose_assignee([Candidate(B, 0, None), Candidate(A, 0, None)]) == A


def test_overdue_is_open_and_past_due():
    assert is_overdue("open", T0, T0 + timedelta(seconds=1))
    assert not is_overdue("open", T0, T0)
    assert not is_overdue("completed", T0, T0 + timedelta(days=1))
