"""Sign-in accounts that follow HR (and CRM's members): the identity provider's users kept in
step with the staff events, through Keycloak's admin REST API and a service-account client
(`club-accounts`, allowed to manage users and nothing else).

Why CRM runs this: CRM already follows `staff.hired` / `changed` / `offboarded` (its staff
directory), and it is the one deployable that holds members' personal data, which a member's
account needs and which never goes on the bus. So one deployable, not two, holds the
provider's credentials. It runs as its own consumer group (`crm.accounts`), so a provider that
is down holds up only the accounts (waited out, then caught up), never CRM's own projections.

What each event does to the user whose `club_id` attribute is the staff id:

- `staff.hired`: a user with the role as its one club realm role, enabled, with the one-time
  "set your password" action (UPDATE_PASSWORD); an existing user is left as it is.
- `staff.changed`: the role replaces the previous club role; `suspended` or `offboarded`
  disables the user and ends their sessions; `active` enables them again.
- `staff.offboarded`: disabled, sessions ended.
- `customer.registered` (CRM's own): a member's user tied to the customer id, named and
  addressed from CRM's encrypted records, with the "set your password" action.
- `customer.erased`: the member's user is deleted.

Replays and events out of order converge: the user keeps the effective time of the last status
it took (`club_status_at`), and an event no newer than that changes nothing (an offboarding
wins a tie), so replaying the topics from offset 0 leaves the provider as it is.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import httpx
from club_contracts import (
    CustomerErased,
    CustomerRegistered,
    StaffChanged,
    StaffHired,
    StaffOffboarded,
)
from club_platform.auth import Role
from club_platform.consumer import EventConsumer
from club_platform.envelope import Envelope
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

PLATFORM_ROLES = frozenset(r.value for r in Role)


class ProviderUnavailable(ConnectionError):
    """The provider did not answer, or answered 5xx: waited out by the consumer (an outage)."""


class ProviderRefused(ValueError):
    """The provider refused the change (4xx): the event goes to the dead letters with why."""


@dataclass(frozen=True)
class ProviderAccess:
    base_url: str        # e.g. http://127.0.0.1:18080
    realm: str
    client_id: str
    client_secret: str


class Accounts:
    def __init__(self, access: ProviderAccess, *, timeout: float = 10) -> None:
        self._access = access
        self._http = httpx.AsyncClient(base_url=access.base_url, timeout=timeout)
        self._token: tuple[str, float] | None = None
        self._roles: dict[str, dict] = {}

    async def close(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ REST plumbing

    async def _bearer(self) -> str:
        if self._token and self._token[1] > time.monotonic():
            return self._token[0]
        try:
            response = await self._http.post(
                f"/realms/{self._access.realm}/protocol/openid-connect/token",
                data={"grant_type": "client_credentials", "client_id": self._access.client_id,
                      "client_secret": self._access.client_secret})
        except httpx.TransportError as e:
            raise ProviderUnavailable(f"identity provider unreachable: {e}") from e
        if response.status_code != 200:
            # Wrong credentials are an outage of ours, not the event's fault: wait, do not drop.
            raise ProviderUnavailable(f"identity provider refused the accounts client "
                                      f"({response.status_code})")
        body = response.json()
        self._token = (body["access_token"], time.monotonic() + body.get("expires_in", 60) - 15)
        return self._token[0]

    async def _call(self, method: str, path: str, *, json=None, params=None,
                    missing_ok: bool = False) -> httpx.Response:
        try:
            response = await self._http.request(
                method, f"/admin/realms/{self._access.realm}{path}", json=json, params=params,
                headers={"Authorization": f"Bearer {await self._bearer()}"})
        except httpx.TransportError as e:
            raise ProviderUnavailable(f"identity provider unreachable: {e}") from e
        if response.status_code == 401:
            self._token = None
            raise ProviderUnavailable("identity provider token expired; retrying")
        if response.status_code >= 500:
            raise ProviderUnavailable(f"identity provider failed: {response.status_code}")
        if response.status_code == 404 and missing_ok:
            return response
        if response.status_code >= 400:
            raise ProviderRefused(f"identity provider refused {method} {path}: "
                                  f"{response.status_code} {response.text[:300]}")
        return response

    async def _role(self, name: str) -> dict:
        if name not in self._roles:
            self._roles[name] = (await self._call("GET", f"/roles/{name}")).json()
        return self._roles[name]

    # ------------------------------------------------------------------ users

    async def find(self, club_id: UUID) -> dict | None:
        found = (await self._call("GET", "/users", params={
            "q": f"club_id:{club_id}", "exact": "true", "briefRepresentation": "false"})).json()
        return found[0] if found else None

    async def _create(self, club_id: UUID, *, username: str, role: str, enabled: bool,
                      status: str, status_at: datetime, first_name: str | None = None,
                      last_name: str | None = None, email: str | None = None) -> dict:
        body = {"username": username, "enabled": enabled,
                "attributes": {"club_id": [str(club_id)], "club_status": [status],
                               "club_status_at": [status_at.isoformat()]},
                "requiredActions": ["UPDATE_PASSWORD"]}
        if first_name:
            body["firstName"] = first_name
        if last_name:
            body["lastName"] = last_name
        if email:
            body |= {"email": email, "emailVerified": False}
        response = await self._call("POST", "/users", json=body)
        user_id = response.headers["Location"].rsplit("/", 1)[-1]
        await self._set_role(user_id, role)
        log.info("account made for %s (%s, %s)", club_id, role, status)
        return {"id": user_id}

    async def _set_role(self, user_id: str, role: str) -> None:
        held = (await self._call("GET", f"/users/{user_id}/role-mappings/realm")).json()
        stale = [r for r in held if r["name"] in PLATFORM_ROLES and r["name"] != role]
        if stale:
            await self._call("DELETE", f"/users/{user_id}/role-mappings/realm", json=stale)
        if not any(r["name"] == role for r in held):
            await self._call("POST", f"/users/{user_id}/role-mappings/realm",
                             json=[await self._role(role)])

    async def staff_hired(self, staff_id: UUID, display_name: str, role: str,
                          hired_at: datetime) -> None:
        if await self.find(staff_id) is not None:
            return  # a replay, or a later event came first: what the user holds is newer
        await self._create(staff_id, username=staff_username(display_name, staff_id), role=role,
                           enabled=True, status="active", status_at=hired_at,
                           first_name=display_name)

    async def staff_status(self, staff_id: UUID, *, role: str | None, status: str,
                           effective_at: datetime) -> None:
        user = await self.find(staff_id)
        if user is None:
            # The change came before the hiring (or the hiring was missed): the account
            # exists from now on in the state the change says, so the hiring finds it.
            if role is None:
                role = Role.ATTENDANT.value  # disabled anyway; no access follows from it
            await self._create(staff_id, username=staff_username(None, staff_id), role=role,
                               enabled=status == "active", status=status,
                               status_at=effective_at)
            return
        attributes = user.get("attributes") or {}
        held_at = _first(attributes.get("club_status_at"))
        held_status = _first(attributes.get("club_status"))
        if held_at is not None:
            held = datetime.fromisoformat(held_at)
            if effective_at < held or (effective_at == held and (
                    held_status == "offboarded" or status == held_status)):
                return  # already applied, or older than what the account holds
        attributes = {**attributes, "club_status": [status],
                      "club_status_at": [effective_at.isoformat()]}
        await self._call("PUT", f"/users/{user['id']}",
                         json={**_editable(user), "enabled": status == "active",
                               "attributes": attributes})
        if role is not None:
            await self._set_role(user["id"], role)
        if status != "active":
            # Refresh tokens and SSO sessions end now; access tokens already out expire
            # within their lifetime (5 minutes), and CRM refuses them at once.
            await self._call("POST", f"/users/{user['id']}/logout")
        log.info("account of %s: %s%s", staff_id, status, f" as {role}" if role else "")


    async def member_registered(self, customer_id: UUID, *, full_name: str | None,
                                email: str | None, registered_at: datetime) -> None:
        """A member's account, tied to their customer id; name and e-mail come from CRM's
        own records (never from the bus). They choose their password on first sign-in."""
        if await self.find(customer_id) is not None:
            return
        await self._create(customer_id, username=email or f"member.{customer_id.hex[:12]}",
                           role=Role.MEMBER.value, enabled=True, status="active",
                           status_at=registered_at, first_name=full_name, email=email)

    async def member_erased(self, customer_id: UUID) -> None:
        """Erasure (R1 §6) removes the account too: the provider keeps no copy of them."""
        user = await self.find(customer_id)
        if user is not None:
            await self._call("DELETE", f"/users/{user['id']}", missing_ok=True)
            log.info("account of customer %s removed", customer_id)


def staff_username(display_name: str | None, staff_id: UUID) -> str:
    """A readable, unique login: the name in lower case with dots, then the id's first six."""
    slug = re.sub(r"[^\w]+", ".", (display_name or "staff").lower(), flags=re.UNICODE).strip(".")
    return f"{slug or 'staff'}.{staff_id.hex[:6]}"


def _first(values) -> str | None:
    return values[0] if values else None


def _editable(user: dict) -> dict:
    keep = ("username", "firstName", "lastName", "email", "emailVerified", "requiredActions")
    return {k: user[k] for k in keep if k in user}


def build_accounts_consumer(accounts: Accounts, cipher=None) -> EventConsumer:
    """`cipher` (CRM's field cipher) opens a new member's name and e-mail; without it members
    get no accounts (only staff do)."""
    consumer = EventConsumer("accounts")

    if cipher is not None:
        @consumer.handles(CustomerRegistered)
        async def registered(session: AsyncSession, event: CustomerRegistered,
                             _envelope: Envelope) -> None:
            from club_crm.services.customers import member_contact
            contact = await member_contact(session, cipher, event.customer_id)
            if contact is None:
                return  # erased before its account was made: nothing to make
            await accounts.member_registered(event.customer_id, registered_at=event.registered_at,
                                             **contact)

        @consumer.handles(CustomerErased)
        async def erased(_session: AsyncSession, event: CustomerErased,
                         _envelope: Envelope) -> None:
            await accounts.member_erased(event.customer_id)

    @consumer.handles(StaffHired)
    async def hired(_session: AsyncSession, event: StaffHired, _envelope: Envelope) -> None:
        await accounts.staff_hired(event.staff_id, event.display_name, event.role, event.hired_at)

    @consumer.handles(StaffChanged)
    async def changed(_session: AsyncSession, event: StaffChanged, _envelope: Envelope) -> None:
        await accounts.staff_status(event.staff_id, role=event.role, status=event.status,
                                    effective_at=event.effective_at)

    @consumer.handles(StaffOffboarded)
    async def offboarded(_session: AsyncSession, event: StaffOffboarded,
                         _envelope: Envelope) -> None:
        await accounts.staff_status(event.staff_id, role=None, status="offboarded",
                                    effective_at=event.effective_at)

    return consumer
