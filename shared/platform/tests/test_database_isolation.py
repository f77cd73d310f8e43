"""One database and one role per service, each role able to reach only its own database
(docs/service-shape.md; docs/local-infrastructure.md)."""

import asyncpg
import pytest

SERVICES = ("booking", "reception", "crm", "hr")


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def test_a_service_role_cannot_connect_to_another_services_database(database_factory):
    booking = _plain(await database_factory.create("booking"))
    hr = _plain(await database_factory.create("hr"))
    booking_role = booking.split("//")[1].split(":")[0]
    hr_database = hr.rsplit("/", 1)[1]

    own = await asyncpg.connect(booking)
    assert await own.fetchval("SELECT current_database()") == booking.rsplit("/", 1)[1]
    await own.close()

    trespass = booking.rsplit("/", 1)[0] + "/" + hr_database
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied"):
        await asyncpg.connect(trespass)
    assert booking_role != hr_database


async def test_the_local_service_databases_are_isolated_from_each_other(club_infrastructure):
    """The service databases deploy/local/infra.py makes (as for `make up`, here on the tests'
    own server): every role × every other database."""
    from club_platform.testing.infrastructure import local_settings

    env = dict(club_infrastructure.settings) | local_settings()
    urls = {s: env.get(f"{s.upper()}_DATABASE_URL") for s in SERVICES}
    if not all(urls.values()):
        pytest.fail("the service database URLs are not in the environment or .env.test "
                    "(run `make test-infra`)", pytrace=False)
    for service, url in urls.items():
        connection = await asyncpg.connect(_plain(url))
        await connection.close()
        for other in SERVICES:
            if other == service:
                continue
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await asyncpg.connect(_plain(url).rsplit("/", 1)[0] + "/" + other)
