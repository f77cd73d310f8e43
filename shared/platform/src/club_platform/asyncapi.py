"""AsyncAPI 3.0 documents generated from the event contracts (docs/events.md): what a service
publishes (the contracts say which service produces each event) and what it consumes (its
`EventConsumer`), one channel per topic, the CloudEvents headers, the Kafka key and the
payload's JSON Schema, straight from the Pydantic models."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from club_contracts import Event, event_types

REF = "#/components/schemas/{model}"

CLOUDEVENTS_HEADERS: dict[str, Any] = {
    "type": "object",
    "description": "CloudEvents 1.0 attributes in Kafka binary mode (docs/events.md).",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject",
                 "content-type"],
    "properties": {
        "ce_specversion": {"type": "string", "const": "1.0"},
        "ce_id": {"type": "string", "format": "uuid",
                  "description": "Unique per event: the consumers' deduplication key."},
        "ce_source": {"type": "string", "description": "club/<service>"},
        "ce_type": {"type": "string", "description": "club.<topic>.v<major>"},
        "ce_time": {"type": "string", "format": "date-time", "description": "RFC 3339, UTC"},
        "ce_subject": {"type": "string", "description": "The aggregate id (also the key)."},
        "content-type": {"type": "string", "const": "application/json"},
        "traceparent": {"type": "string", "description": "W3C trace context, when traced."},
    },
}


@dataclass(frozen=True)
class Server:
    """One Kafka cluster a subscriber connects to, as a deployment has it."""

    name: str
    host: str  # host:port of the listener a subscriber uses
    protocol: str  # Kafka's security.protocol: SASL_SSL, SASL_PLAINTEXT or PLAINTEXT
    description: str = ""

    def document(self) -> dict[str, Any]:
        secure = self.protocol.endswith("SSL")
        server: dict[str, Any] = {
            "host": self.host, "protocol": "kafka-secure" if secure else "kafka",
            "description": self.description or f"security.protocol={self.protocol}",
        }
        if self.protocol.startswith("SASL"):
            server["security"] = [{"$ref": "#/components/securitySchemes/scram"}]
        return server


SCRAM = {
    "type": "scramSha512",
    "description": "SASL/SCRAM-SHA-512 with a principal of your own: an outside system gets a "
                   "read-only one from the club's operator (`club kafka-outside grant`, "
                   "docs/operations.md), with its own consumer group `outside.<name>`.",
}


def _message_name(event_type: type[Event]) -> str:
    return event_type.ce_type()


def _payload(event_type: type[Event], schemas: dict[str, Any]) -> dict[str, Any]:
    schema = event_type.model_json_schema(mode="serialization", ref_template=REF)
    schemas.update(schema.pop("$defs", {}))
    name = event_type.__name__
    schemas[name] = schema
    return {"$ref": REF.format(model=name)}


def build(service: str, *, consumes: list[type[Event]], title: str, version: str = "1.0.0",
          description: str = "", servers: list[Server] | None = None) -> dict[str, Any]:
    produces = [t for t in event_types() if t.producer == service]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    schemas: dict[str, Any] = {"CloudEventsHeaders": CLOUDEVENTS_HEADERS}
    for action, types in (("send", produces), ("receive", sorted(consumes,
                                                                 key=lambda t: t.topic))):
        for event_type in types:
            name = _message_name(event_type)
            messages[name] = {
                "name": name,
                "title": event_type.__name__,
                "summary": (event_type.__doc__ or "").strip().split("\n")[0] or None,
                "contentType": "application/json",
                "headers": {"$ref": REF.format(model="CloudEventsHeaders")},
                "payload": _payload(event_type, schemas),
                "bindings": {"kafka": {
                    "key": {"type": "string",
                            "description": f"`{event_type.key_field}`, the aggregate id"},
                    "bindingVersion": "0.5.0",
                }},
            }
            messages[name] = {k: v for k, v in messages[name].items() if v is not None}
            channel = channels.setdefault(event_type.topic, {
                "address": event_type.topic,
                "messages": {},
                "description": f"Produced by the {event_type.producer} service.",
            })
            channel["messages"][name] = {"$ref": f"#/components/messages/{name}"}
            verb = "publish" if action == "send" else "consume"
            operations[f"{verb}_{event_type.topic.replace('.', '_')}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{event_type.topic}"},
                "messages": [{"$ref": f"#/channels/{event_type.topic}/messages/{name}"}],
                "summary": ("Written to the outbox in the business transaction and published "
                            "by the relay (idempotent producer, acks=all)." if action == "send"
                            else f"Consumed by the `{service}` group: effects once (inbox), "
                                 f"dead letters to `{service}.dlq`."),
            }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": title, "version": version, "description": description},
        "defaultContentType": "application/json",
        "servers": {server.name: server.document() for server in servers or ()},
        "channels": dict(sorted(channels.items())),
        "operations": dict(sorted(operations.items())),
        "components": {"messages": dict(sorted(messages.items())),
                       "schemas": dict(sorted(schemas.items())),
                       "securitySchemes": {"scram": SCRAM}},
    }
