"""Within a major version only optional fields may be added (docs/events.md): the committed
JSON Schema snapshots are the published contract, and these tests fail on any change that
would break a subscriber."""

import copy

from club_contracts import event_type_for, event_types
from club_contracts.schemas import (
    breaking_against_snapshots,
    breaking_changes,
    load_snapshot,
    main,
    missing_snapshots,
    schema_for,
    snapshot_path,
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


# String fields that are neither a code (enum), an id or time (format) nor a pattern, each
# with why it may travel. Anything else is free text, which may not (docs/events.md).
NOT_FREE_TEXT = {
    ("club.assessment.published.v1", "kpis[].code"): "a KPI code from HR's templates",
    ("club.assessment.published.v1", "adjustments[].code"): "a KPI code from HR's templates",
    ("club.discipline.recorded.v1", "rule_ref"): "a clause reference, e.g. R1 §7.2",
    ("club.discipline.recorded.v1", "violation"): "a code of HR's discipline ladder",
    ("club.discipline.dismissed.v1", "rule_ref"): "a clause reference",
    ("club.discipline.dismissed.v1", "violation"): "a code of HR's discipline ladder",
    ("club.discipline.opened.v1", "rule_ref"): "a clause reference",
    ("club.discipline.opened.v1", "violation"): "a code of HR's discipline ladder",
    ("club.training.assigned.v1", "clause"): "a clause reference, e.g. R2 §4.2",
    ("club.reward.granted.v1", "rule_ref"): "a clause reference",
    ("club.reward.granted.v2", "rule_ref"): "a clause reference",
    ("club.policy.revised.v1", "title"): "a policy's title, about no person",
    ("club.staff.hired.v1", "display_name"): "a staff member's name (staff data, documented)",
    ("club.staff.hired.v1", "department"): "a department's name",
    # Deprecated majors: from v2's release they carry the code itself or its standard wording.
    ("club.booking.cancelled.v1", "reason"): "the v2 code, as a string",
    ("club.complaint.resolved.v1", "resolution"): "the v2 code's standard wording",
    ("club.reward.granted.v1", "reason"): "the v2 code's standard wording",
}


def _untyped_strings(schema: dict) -> list[str]:
    found = []

    def walk(node: dict, path: str) -> None:
        while "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        for option in node.get("anyOf", []):
            walk(option, path)
        if node.get("type") == "string" and not {"enum", "const", "format", "pattern"} & set(
                node):
            found.append(path)
        for name, child in node.get("properties", {}).items():
            walk(child, f"{path}.{name}" if path else name)
        if "items" in node:
            walk(node["items"], f"{path}[]")

    walk(schema, "")
    return found


def test_no_free_text_travels_on_the_bus():
    """complaint.resolved v1's `resolution` and reward.granted v1's `reason` carried what a
    person typed; every string on the bus now is a code, an id, a time or a listed name."""
    found = {(t.ce_type(), path) for t in event_types()
             for path in _untyped_strings(schema_for(t))}
    assert found == set(NOT_FREE_TEXT)
    # Reasons that are codes are declared as enums.
    for ce_type, field in (("club.booking.cancelled.v2", "reason"),
                           ("club.complaint.resolved.v2", "resolution_code"),
                           ("club.reward.granted.v2", "reason_code")):
        assert "enum" in schema_for(event_type_for(ce_type))["properties"][field], ce_type


def test_every_schema_id_is_absolute_and_names_its_file():
    for event_type in event_types():
        schema = load_snapshot(event_type)
        assert schema["$id"].startswith("https://"), schema["$id"]
        assert schema["$id"].rsplit("/", 1)[-1] == snapshot_path(event_type).name


def test_a_v2_is_a_break_the_check_would_refuse_within_v1():
    """Why codes came as a new major: narrowing v1's `reason` to an enum breaks a subscriber."""
    from club_contracts.catalogue_v2 import BookingCancelledV2

    v1 = load_snapshot(event_type_for("club.booking.cancelled.v1"))
    assert breaking_changes(v1, schema_for(BookingCancelledV2)) == [
        "field `reason` changed type"]
