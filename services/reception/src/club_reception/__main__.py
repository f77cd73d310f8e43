"""`python -m club_reception` (or `club-reception`): serve the reception service over HTTP, with its
consumer, outbox relay and jobs in the same process; `club-reception projections` and
`club-reception rebuild NAME` rebuild a projection from the topics (club_platform.service_main)."""

from __future__ import annotations

import sys

from club_platform.service_main import service_main

from club_reception.app import build_app
from club_reception.handlers import consumer
from club_reception.settings import ReceptionSettings


def main() -> None:
    sys.exit(service_main("reception", build_app=build_app, settings_class=ReceptionSettings,
                          consumer=consumer))


if __name__ == "__main__":
    main()
