"""`python -m club_reception.rebuild [--forget-only]`: rebuild the expected arrivals from the
booking topics (docs/reliability.md, "Replay"), with every reception replica stopped. The same as
`club-reception rebuild expected_arrivals`; how it works is in club_platform.projections.
Visits keep their booking ids: they are reception's own records, not part of the projection.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from club_platform.service_main import service_main

from club_reception.app import build_app
from club_reception.handlers import consumer
from club_reception.settings import ReceptionSettings


def main(argv: Sequence[str] | None = None) -> None:
    args = ["rebuild", "expected_arrivals", *(sys.argv[1:] if argv is None else argv)]
    sys.exit(service_main("reception", build_app=build_app, settings_class=ReceptionSettings,
                          consumer=consumer, argv=args))


if __name__ == "__main__":
    main()
