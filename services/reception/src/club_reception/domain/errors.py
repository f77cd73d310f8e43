"""The problems reception names for people (rendered as RFC 9457 problem JSON). Each has a
stable `code` a client can act on, and a sentence that says what is wrong."""

from __future__ import annotations

from club_platform.errors import Conflict, Forbidden, Invalid


class StaffNotAssignable(Invalid):
    """Only active staff can host a visit or deliver a service; the `reason` says why not:
    `unknown`, `not_started`, `suspended` or `offboarded`."""

    code = "staff_not_assignable"


class UnknownLocation(Invalid):
    code = "unknown_location"


class LocationClosed(Invalid):
    code = "location_closed"


class LocationFull(Conflict):
    code = "location_full"


class BookingNotExpected(Conflict):
    """The booking cannot be checked in: unknown, cancelled, too early or over."""

    code = "booking_not_expected"


class AlreadyCheckedIn(Conflict):
    code = "already_checked_in"


class VisitAlreadyCompleted(Conflict):
    code = "visit_completed"


class IncidentClosed(Conflict):
    code = "incident_closed"


class ChecklistIncomplete(Invalid):
    """A task is done only with every checklist item ticked; `missing` names the others."""

    code = "checklist_incomplete"


class NotYourTask(Forbidden):
    code = "not_your_task"
