"""`python -m club_console` (or `club-console`): serve the console over HTTP."""

from __future__ import annotations

import uvicorn
from club_platform.logs import configure_logging

from club_console.app import build_app
from club_console.settings import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings()  # type: ignore[call-arg]  # from CONSOLE_* variables
    configure_logging("console", settings.log_level)
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, access_log=False, loop="uvloop", http="httptools",
                timeout_graceful_shutdown=10, timeout_keep_alive=75)


if __name__ == "__main__":
    main()
