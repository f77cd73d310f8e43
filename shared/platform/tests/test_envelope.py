"""The CloudEvents binary-mode envelope (docs/events.md), without a broker."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from club_contracts import CustomerErased, VisitCompleted
from club_platform.envelope import PoisonMessage, decode, encode, envelope_for


def _erased() -> CustomerErased:
    return CustomerErased(customer_id=uuid4(), erased_at=datetime(2026, 11, 27, 9, tzinfo=UTC))


def test_headers_carry_every_cloudevents_attribute_and_the_value_is_the_data():
    event = _erased()
    envelope = envelope_for(event, traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    key, value, headers = encode(event, envelope)
    names = dict(headers)
    assert names["ce_specversion"] == b"1.0"
    assert UUID(names["ce_id"].decode()) == envelope.id
    assert names["ce_source"] == b"club/crm"
    assert names["ce_type"] == b"club.customer.erased.v1"
    assert names["ce_subject"] == str(event.customer_id).encode()
    assert names["content-type"] == b"application/json"
    assert names["traceparent"].startswith(b"00-aaaa")
    assert datetime.fromisoformat(names["ce_time"].decode().replace("Z", "+00:00")).tzinfo
    assert key == str(event.customer_id).encode()
    assert value == event.to_json()


def test_decode_round_trips():
    event = _erased()
    envelope = envelope_for(event)
    _, value, headers = encode(event, envelope)
    decoded_envelope, decoded = decode(headers, value)
    assert decoded == event
    assert decoded_envelope.id == envelope.id


@pytest.mark.parametrize(
    ("mutate", "reason", "words"),
    [
        (lambda h, v: ([x for x in h if x[0] != "ce_id"], v), "undecodable", "ce_id"),
        (lambda h, v: ([(k, b"not-a-uuid" if k == "ce_id" else x) for k, x in h], v),
         "undecodable", "not a UUID"),
        (lambda h, v: ([(k, b"club.nothing.v9" if k == "ce_type" else x) for k, x in h], v),
         "undecodable", "unknown event type"),
        (lambda h, v: ([(k, b"\xff\xfe" if k == "ce_source" else x) for k, x in h], v),
         "undecodable", "UTF-8"),
        (lambda h, v: (h, b"{not json"), "undecodable", "JSON"),
        (lambda h, v: (h, b""), "undecodable", "empty"),
        (lambda h, v: (h, b'{"customer_id": "x", "erased_at": "yesterday"}'), "schema_invalid",
         "customer_id"),
    ],
)
def test_what_cannot_be_decoded_says_why(mutate, reason, words):
    event = _erased()
    _, value, headers = encode(event, envelope_for(event))
    headers, value = mutate(headers, value)
    with pytest.raises(PoisonMessage) as caught:
        decode(headers, value)
    assert caught.value.reason == reason
    assert words.lower() in caught.value.detail.lower()


def test_a_nested_schema_error_is_reported_with_its_path():
    event = VisitCompleted(visit_id=uuid4(), customer_id=uuid4(), location_id=uuid4(),
                           host_staff_id=uuid4(), staff_ids=[], services=[],
                           checked_in_at=datetime.now(UTC), completed_at=datetime.now(UTC))
    _, _, headers = encode(event, envelope_for(event))
    bad = event.to_json().replace(b'"services":[]', b'"services":[{"service_code":"spa"}]')
    with pytest.raises(PoisonMessage, match=r"services\.0\.staff_id"):
        decode(headers, bad)
