"""The base of every event contract: topic, CloudEvents type and Kafka key bound to the model.

An event model is plain Pydantic. Producers build it and hand it to the platform's outbox;
consumers receive it already validated. Outside systems can use these models (or the JSON
Schemas generated from them) with no Kafka or database code at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
)


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# docs/events.md: every time on the bus is UTC RFC 3339; a naive time is refused, not guessed.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]

# Money travels as a decimal string ("12.50") so no consumer meets a binary float.
MoneyAmount = Annotated[
    Decimal,
    Field(ge=0, max_digits=14, decimal_places=2),
    PlainSerializer(lambda amount: f"{amount:.2f}", return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,12}\.\d{2}$"}),
]

CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]

StaffRole = Literal["head", "deputy", "attendant", "crm_specialist", "hr_admin"]


class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    amount: MoneyAmount
    currency: CurrencyCode = "CNY"


class Event(BaseModel):
    """One event type of catalogue v1 (docs/events.md).

    Subclasses set `topic` (`<aggregate>.<event>`), `key_field` (the producing aggregate's
    id, which becomes the Kafka key and `ce_subject`) and `producer` (the service that owns
    the topic, for `ce_source`). `major` is the major version in `ce_type`.
    """

    # Consumers ignore fields they do not know: producers may add optional fields
    # within a major version (docs/events.md, evolution).
    model_config = ConfigDict(frozen=True, extra="ignore")

    topic: ClassVar[str]
    major: ClassVar[int] = 1
    key_field: ClassVar[str]
    producer: ClassVar[str]

    _registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "topic" not in cls.__dict__:
            return  # an intermediate base, not an event type
        ce_type = cls.ce_type()
        if ce_type in Event._registry:
            raise TypeError(f"two event models claim {ce_type}")
        Event._registry[ce_type] = cls

    @classmethod
    def ce_type(cls) -> str:
        """The CloudEvents `type`, e.g. `club.visit.completed.v1`."""
        return f"club.{cls.topic}.v{cls.major}"

    @classmethod
    def ce_source(cls) -> str:
        return f"club/{cls.producer}"

    @property
    def key(self) -> str:
        """The Kafka message key and CloudEvents subject: the aggregate id."""
        return str(getattr(self, self.key_field))

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, data: bytes | str) -> Event:
        return cls.model_validate_json(data)


def event_types() -> list[type[Event]]:
    """Every registered event type, ordered by topic then version."""
    from club_contracts import catalogue, catalogue_v2  # noqa: F401  (importing registers them)

    return sorted(Event._registry.values(), key=lambda t: (t.topic, t.major))


def event_type_for(ce_type: str) -> type[Event] | None:
    """The model for a CloudEvents type, or None when this catalogue does not know it."""
    from club_contracts import catalogue, catalogue_v2  # noqa: F401

    return Event._registry.get(ce_type)


def event_type_for_topic(topic: str, major: int = 1) -> type[Event]:
    return _by_topic()[(topic, major)]


def _by_topic() -> dict[tuple[str, int], type[Event]]:
    return {(t.topic, t.major): t for t in event_types()}


def topics() -> list[str]:
    """Every topic of the catalogue, once each."""
    return sorted({t.topic for t in event_types()})
