"""The command line every service shares, `club-<service> [command]`:

    club-<service>                     serve over HTTP (the default), with its consumer,
    club-<service> serve               outbox relay and jobs in the same process
    club-<service> projections         the projections it can rebuild from the topics
    club-<service> rebuild NAME        rebuild one from offset 0 (every replica stopped)

A service may add commands of its own (crm: `reencrypt`, `generate-key`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

import uvicorn
from club_platform import projections


def serve(build_app: Callable, settings) -> None:
    # Keep idle connections longer than the usual proxy and client idle timeouts (60 s):
    # a server that closes first races the client's next request on that connection, and
    # the client sees the connection reset instead of an answer.
    uvicorn.run(build_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, access_log=False, loop="uvloop", http="httptools",
                timeout_graceful_shutdown=20, timeout_keep_alive=75)


def service_main(service: str, *, build_app: Callable, settings_class: type, consumer,
                 extra: Callable[[argparse._SubParsersAction], None] | None = None,
                 argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"club-{service}", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve over HTTP (the default)")
    projections.add_commands(commands)
    if extra:
        extra(commands)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command in (None, "serve"):
        serve(build_app, settings_class())
        return 0
    if args.command in ("projections", "rebuild"):
        return projections.run_command(args, settings_class(), consumer)
    return args.run(args)
