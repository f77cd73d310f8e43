"""`python -m club_crm` (or `club-crm`): serve the crm service over HTTP, with its consumer,
outbox relay and SLA job in the same process.

    club-crm                      serve (CRM_HTTP_PORT)
    club-crm projections, club-crm rebuild NAME    as every service (club_platform.service_main)
    club-crm reencrypt --check    how many personal values each encryption key still seals
    club-crm reencrypt            re-seal everything under the newest key (key rotation)
    club-crm generate-key         a new key for CRM_FIELD_ENCRYPTION_KEYS
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from club_platform.service_main import service_main

from club_crm.fieldcrypt import generate_key
from club_crm.settings import CrmSettings


async def reencrypt(check_only: bool, batch: int) -> int:
    from club_platform.db import Database

    from club_crm.services.rotation import key_usage
    from club_crm.services.rotation import reencrypt as reseal

    settings = CrmSettings()
    cipher = settings.cipher
    database = Database(settings.database_url.get_secret_value(), pool_size=2,
                        application_name="club-crm-reencrypt")
    try:
        if not check_only:
            changed = await reseal(database, cipher, batch=batch)
            print(f"re-sealed {changed} rows under key {cipher.current_key_id}")
        async with database.transaction() as session:
            usage = await key_usage(session)
    finally:
        await database.dispose()
    for kid, count in sorted(usage.items()):
        mark = "newest" if kid == cipher.current_key_id else (
            "configured" if kid in cipher.key_ids else "NOT CONFIGURED")
        print(f"key {kid} ({mark}): {count} values")
    stale = sum(n for kid, n in usage.items() if kid != cipher.current_key_id)
    if stale:
        print(f"{stale} values still use older keys: keep those keys configured")
        return 1
    print("every value uses the newest key: older keys can be removed")
    return 0


def _crm_commands(commands: argparse._SubParsersAction) -> None:
    again = commands.add_parser("reencrypt", help="move every value to the newest key")
    again.add_argument("--check", action="store_true", help="only report, change nothing")
    again.add_argument("--batch", type=int, default=200, help="rows per transaction")
    again.set_defaults(run=lambda args: asyncio.run(reencrypt(args.check, args.batch)))
    key = commands.add_parser("generate-key", help="print a new field encryption key")
    key.set_defaults(run=lambda _args: print(generate_key()) or 0)


def main() -> None:
    from club_crm.app import build_app
    from club_crm.handlers import consumer

    sys.exit(service_main("crm", build_app=build_app, settings_class=CrmSettings,
                          consumer=consumer, extra=_crm_commands))


if __name__ == "__main__":
    main()
