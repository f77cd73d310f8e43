"""`python -m club_hr` (or `club-hr`): serve the hr service over HTTP, with its
consumer, outbox relay and jobs in the same process; `club-hr projections` and
`club-hr rebuild NAME` rebuild a projection from the topics (club_platform.service_main)."""

from __future__ import annotations

import sys

from club_platform.service_main import service_main

from club_hr.app import build_app
from club_hr.handlers import consumer
from club_hr.settings import HrSettings


def main() -> None:
    sys.exit(service_main("hr", build_app=build_app, settings_class=HrSettings,
                          consumer=consumer))


if __name__ == "__main__":
    main()
