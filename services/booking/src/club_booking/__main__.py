"""`python -m club_booking` (or `club-booking`): serve the booking service over HTTP, with its
consumer, outbox relay and jobs in the same process; `club-booking projections` and
`club-booking rebuild NAME` rebuild a projection from the topics (club_platform.service_main)."""

from __future__ import annotations

import sys

from club_platform.service_main import service_main

from club_booking.app import build_app
from club_booking.handlers import consumer
from club_booking.settings import BookingSettings


def main() -> None:
    sys.exit(service_main("booking", build_app=build_app, settings_class=BookingSettings,
                          consumer=consumer))


if __name__ == "__main__":
    main()
