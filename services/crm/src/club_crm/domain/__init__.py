"""The crm service's rules, pure: no I/O, no sessions, no Kafka; unit-tested alone."""

from club_platform.errors import ClubError


class Gone(ClubError):
    """The thing existed and is gone for good: an erased customer, an expired survey link."""

    status = 410
    code = "gone"
