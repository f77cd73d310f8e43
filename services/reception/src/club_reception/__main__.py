"""`python -m club_reception` (or `club-reception`): serve the reception service over HTTP, with its
consumer and outbox relay in the same process."""

from __future__ import annotations

import uvicorn

from club_reception.app import build_app
from club_reception.settings import ReceptionSettings


def main() -> None:
    settings = ReceptionSettings()
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, access_log=False, loop="uvloop", http="httptools",
                timeout_graceful_shutdown=20)


if __name__ == "__main__":
    main()
