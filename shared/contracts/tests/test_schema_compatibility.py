"""Within a major version only optional fields may be added (BLUEPRINT §3): the committed
JSON Schema snapshots are the published contract, and these tests fail on any change that
would break a subscriber."""

import copy

from club_contracts import event_types
from club_contracts.schemas import (
    breaking_against_snapshots,
    breaking_changes,
    load_snapshot,
    main,
    missing_snapshots,
    schema_for,
    stale_snapshots,
)


def test_every_event_type_has_a_committed_snapshot():
    assert missing_snapshots() == []


def test_the_code_is_compatible_with_every_committed_snapshot():
    assert breaking_against_snapshots() == []


def test_snapshots_are_up_to_date_with_the_code():
    # A compatible change (a new optional field) must be written with `schemas write`, so
    # subscribers in other languages see it.
    assert stale_snapshots() == []


def _visit_completed() -> dict:
    (model,) = [t for t in event_types() if t.topic == "visit.completed"]
    return load_snapshot(model)


def test_removing_a_field_is_breaking():
    old = _visit_completed()
    new = copy.deepcopy(old)
    del new["properties"]["location_id"]
    new["required"].remove("location_id")
    assert "field `location_id` was removed" in breaking_changes(old, new)


def test_retyping_a_field_is_breaking():
    old = _visit_completed()
    new = copy.deepcopy(old)
    new["properties"]["walk_in"] = {"type": "boolean"}
    new["properties"]["customer_id"] = {"type": "integer"}
    assert "field `customer_id` changed type" in breaking_changes(old, new)


def test_retyping_a_nested_field_is_breaking():
    old = _visit_completed()
    new = copy.deepcopy(old)
    new["$defs"]["ServiceDelivered"]["properties"]["staff_id"] = {"type": "string"}
    changes = breaking_changes(old, new)
    assert any("services" in c and "changed type" in c for c in changes), changes


def test_making_an_optional_field_required_is_breaking():
    old = _visit_completed()
    new = copy.deepcopy(old)
    new["required"].append("booking_id")
    assert "optional field `booking_id` became required" in breaking_changes(old, new)


def test_adding_a_required_field_is_breaking_but_an_optional_one_is_not():
    old = _visit_completed()
    optional = copy.deepcopy(old)
    optional["properties"]["weather"] = {"type": "string"}
    assert breaking_changes(old, optional) == []
    required = copy.deepcopy(optional)
    required["required"].append("weather")
    assert breaking_changes(old, required) == [
        "new field `weather` is required (only optional fields may be added)"
    ]


def test_changing_an_enum_is_breaking():
    (model,) = [t for t in event_types() if t.topic == "incident.reported"]
    old = load_snapshot(model)
    new = copy.deepcopy(old)
    new["properties"]["severity"]["enum"].append("catastrophic")
    assert "field `severity` changed type" in breaking_changes(old, new)


def test_the_check_command_fails_on_a_breaking_snapshot(tmp_path, monkeypatch, capsys):
    import club_contracts.schemas as schemas

    for event_type in event_types():
        (tmp_path / schemas.snapshot_path(event_type).name).write_text(
            schemas.render(schema_for(event_type)))
    (model,) = [t for t in event_types() if t.topic == "staff.offboarded"]
    path = tmp_path / schemas.snapshot_path(model).name
    snapshot = load_snapshot(model)
    snapshot["properties"]["reason"] = {"type": "string"}
    snapshot["required"].append("reason")
    path.write_text(schemas.render(snapshot))
    monkeypatch.setattr(schemas, "SNAPSHOT_DIR", tmp_path)
    assert main(["check"]) == 1
    assert "field `reason` was removed" in capsys.readouterr().out
