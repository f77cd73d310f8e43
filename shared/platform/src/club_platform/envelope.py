"""CloudEvents 1.0 in Kafka binary mode (docs/events.md).

The event's attributes travel as `ce_*` headers, the value is the JSON `data` alone:

    ce_specversion=1.0  ce_id=<uuid>  ce_source=club/<service>  ce_type=club.<topic>.v<major>
    ce_time=<RFC 3339 UTC>  ce_subject=<aggregate id>  content-type=application/json
    traceparent=<W3C trace context, when a trace is active>

`decode` turns a Kafka record back into a validated contract model, or raises a
`PoisonMessage` that says why it cannot (the consumer runner dead-letters those).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID, uuid4

from club_contracts import Event, event_type_for
from pydantic import ValidationError

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]


class PoisonMessage(Exception):
    """A record no retry can fix: `reason` is `undecodable` or `schema_invalid`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Envelope:
    id: UUID
    source: str
    type: str
    time: datetime
    subject: str
    traceparent: str | None = None

    def headers(self) -> Headers:
        headers = [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", str(self.id).encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_time", format_time(self.time).encode()),
            ("ce_subject", self.subject.encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]
        if self.traceparent:
            headers.append(("traceparent", self.traceparent.encode()))
        return headers


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, to the microsecond."""
    if moment.tzinfo is None:
        raise ValueError("event times must carry a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def envelope_for(
    event: Event,
    *,
    event_id: UUID | None = None,
    time: datetime | None = None,
    traceparent: str | None = None,
) -> Envelope:
    return Envelope(
        id=event_id or uuid4(),
        source=event.ce_source(),
        type=event.ce_type(),
        time=time or datetime.now(UTC),
        subject=event.key,
        traceparent=traceparent,
    )


def encode(event: Event, envelope: Envelope) -> tuple[bytes, bytes, Headers]:
    """(key, value, headers) of the Kafka record for `event`."""
    return event.key.encode(), event.to_json(), envelope.headers()


def decode_envelope(headers: Headers) -> Envelope:
    found: dict[str, str] = {}
    for name, raw in headers or ():
        if name.startswith("ce_") or name in ("content-type", "traceparent"):
            try:
                found[name] = raw.decode() if raw is not None else ""
            except UnicodeDecodeError as e:
                raise PoisonMessage("undecodable", f"header {name} is not UTF-8") from e
    missing = [
        h for h in ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time") if h not in found
    ]
    if missing:
        raise PoisonMessage("undecodable", f"missing CloudEvents headers: {', '.join(missing)}")
    if found["ce_specversion"] != SPECVERSION:
        raise PoisonMessage("undecodable", f"unsupported specversion {found['ce_specversion']!r}")
    content_type = found.get("content-type", CONTENT_TYPE)
    if content_type.split(";")[0].strip() != CONTENT_TYPE:
        raise PoisonMessage("undecodable", f"unsupported content-type {content_type!r}")
    try:
        event_id = UUID(found["ce_id"])
    except ValueError as e:
        raise PoisonMessage("undecodable", f"ce_id {found['ce_id']!r} is not a UUID") from e
    try:
        time = datetime.fromisoformat(found["ce_time"].replace("Z", "+00:00"))
    except ValueError as e:
        raise PoisonMessage("undecodable", f"ce_time {found['ce_time']!r} is not RFC 3339") from e
    if time.tzinfo is None:
        raise PoisonMessage("undecodable", "ce_time has no time zone")
    return Envelope(
        id=event_id,
        source=found["ce_source"],
        type=found["ce_type"],
        time=time.astimezone(UTC),
        subject=found.get("ce_subject", ""),
        traceparent=found.get("traceparent"),
    )


def decode(headers: Headers, value: bytes | None) -> tuple[Envelope, Event]:
    """The envelope and the validated event of a record, or `PoisonMessage`."""
    envelope = decode_envelope(headers)
    event_type = event_type_for(envelope.type)
    if event_type is None:
        raise PoisonMessage("undecodable", f"unknown event type {envelope.type!r}")
    if not value:
        raise PoisonMessage("undecodable", "empty value")
    try:
        event = event_type.model_validate_json(value)
    except ValidationError as e:
        kind = "undecodable" if any(err["type"] == "json_invalid" for err in e.errors()) else (
            "schema_invalid"
        )
        raise PoisonMessage(kind, _summarise(e)) from e
    return envelope, event


def _summarise(error: ValidationError) -> str:
    parts = []
    for err in error.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    more = error.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
