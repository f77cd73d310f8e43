"""Field encryption without I/O: sealing, binding to a place, rotation, lookups, survey links."""

from __future__ import annotations

import secrets
from uuid import uuid4

import pytest

from club_crm.fieldcrypt import (
    CannotDecrypt,
    FieldCipher,
    InvalidKeySetting,
    generate_key,
    key_id,
    parse_keys,
)


def test_the_local_infrastructures_token_is_a_valid_key():
    # deploy/local/infra.py writes secrets.token_urlsafe(32): 32 bytes, no padding.
    [key] = parse_keys(secrets.token_urlsafe(32))
    assert len(key) == 32
    assert len(parse_keys(generate_key())[0]) == 32


@pytest.mark.parametrize(("setting", "problem"), [
    ("", "empty"),
    ("abc", "bytes"),
    ("!!!not base64!!!", "base64"),
    ("A" * 43 + "," + "A" * 43, "twice"),
])
def test_malformed_settings_are_refused_without_echoing_them(setting, problem):
    with pytest.raises(InvalidKeySetting, match=problem) as refused:
        parse_keys(setting)
    if setting:
        assert setting.split(",")[0] not in str(refused.value)


def test_seal_and_open_round_trip_and_never_repeat():
    cipher = FieldCipher.from_setting(generate_key())
    first = cipher.seal("Wang Fang", place="customers.full_name_enc:1")
    second = cipher.seal("Wang Fang", place="customers.full_name_enc:1")
    assert first != second and "Wang" not in first
    assert first.startswith(f"v1:{cipher.current_key_id}:")
    assert cipher.open(first, place="customers.full_name_enc:1") == "Wang Fang"
    assert cipher.open_optional(None, place="x") is None


def test_a_value_moved_to_another_row_or_column_does_not_open():
    cipher = FieldCipher.from_setting(generate_key())
    sealed = cipher.seal("13800001111", place="customers.phone_enc:1")
    for elsewhere in ("customers.phone_enc:2", "customers.email_enc:1"):
        with pytest.raises(CannotDecrypt, match="integrity"):
            cipher.open(sealed, place=elsewhere)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(CannotDecrypt):
        cipher.open(tampered, place="customers.phone_enc:1")


def test_rotation_decrypts_with_any_key_and_encrypts_with_the_newest():
    old, new = generate_key(), generate_key()
    sealed_old = FieldCipher.from_setting(old).seal("note", place="p")
    both = FieldCipher.from_setting(f"{new},{old}")
    assert both.open(sealed_old, place="p") == "note"
    assert not both.is_current(sealed_old)
    resealed = both.seal("note", place="p")
    assert both.is_current(resealed)
    assert FieldCipher.from_setting(new).open(resealed, place="p") == "note"
    with pytest.raises(CannotDecrypt, match="not configured"):
        FieldCipher.from_setting(new).open(sealed_old, place="p")
    assert both.key_ids == [key_id(k) for k in parse_keys(f"{new},{old}")]


def test_lookups_match_under_every_configured_key():
    old, new = generate_key(), generate_key()
    stored = FieldCipher.from_setting(old).lookup("a@example.com")
    both = FieldCipher.from_setting(f"{new},{old}")
    assert stored in both.lookups("a@example.com")
    assert stored not in both.lookups("b@example.com")
    assert not both.lookup_is_current(stored) and both.lookup_is_current(both.lookup("x"))
    assert "a@example.com" not in stored


def test_survey_tokens_are_genuine_only_from_our_keys():
    old, new = generate_key(), generate_key()
    invitation = uuid4()
    token = FieldCipher.from_setting(old).survey_token(invitation)
    assert FieldCipher.from_setting(f"{new},{old}").invitation_of(token) == invitation
    assert FieldCipher.from_setting(new).invitation_of(token) is None
    assert FieldCipher.from_setting(old).invitation_of("garbage") is None
    assert FieldCipher.from_setting(old).invitation_of(token[:-3] + "AAA") is None
