"""The service refuses to start without a usable field encryption key, in any environment,
and never prints key material when it refuses (docs/service-shape.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from club_crm.fieldcrypt import generate_key
from club_crm.settings import CrmSettings

BASE = {"database_url": "postgresql+asyncpg://crm:pw@127.0.0.1:1/crm",
        "kafka_bootstrap_servers": "127.0.0.1:1", "jwt_secret": "x" * 40}


@pytest.mark.parametrize("environment", ["development", "test", "production"])
def test_no_default_key_anywhere(environment, monkeypatch):
    monkeypatch.delenv("CRM_FIELD_ENCRYPTION_KEYS", raising=False)
    with pytest.raises(ValidationError, match="field_encryption_keys"):
        CrmSettings(**BASE, environment=environment)


def test_a_bad_key_is_refused_without_showing_it():
    secret = "Sup3rSecretButShort"
    with pytest.raises(ValidationError) as refused:
        CrmSettings(**BASE, field_encryption_keys=secret)
    assert "CRM_FIELD_ENCRYPTION_KEYS" in str(refused.value)
    assert secret not in str(refused.value) and "pw@" not in str(refused.value)


def test_keys_and_delays_from_the_environment(monkeypatch):
    old, new = generate_key(), generate_key()
    monkeypatch.setenv("CRM_FIELD_ENCRYPTION_KEYS", f" {new} , {old} ")
    monkeypatch.setenv("CRM_POST_VISIT_FOLLOWUP_HOURS", "48")
    settings = CrmSettings(**BASE)
    assert len(settings.cipher.key_ids) == 2
    assert settings.post_visit_followup_delay.total_seconds() == 48 * 3600
    assert new not in repr(settings) and old not in repr(settings)


def test_unsubscribe_links_outlive_a_key_rotation_until_the_old_key_is_destroyed():
    from uuid import uuid4

    from club_crm.services.notification_sender import customer_of_token, unsubscribe_token

    old, new = generate_key(), generate_key()
    customer = uuid4()
    before = CrmSettings(**BASE, field_encryption_keys=old)
    during = CrmSettings(**BASE, field_encryption_keys=f"{new},{old}")
    after = CrmSettings(**BASE, field_encryption_keys=new)
    link = unsubscribe_token(before, customer)  # in a message sent before the rotation
    assert customer_of_token(during, link) == customer
    assert unsubscribe_token(during, customer) != link  # new messages carry the new key's
    assert customer_of_token(after, link) is None  # the old key destroyed: a clear 404
    assert customer_of_token(after, unsubscribe_token(during, customer)) == customer
    assert customer_of_token(during, link[:-2] + ("A" if link[-2] != "A" else "B") + link[-1]) \
        is None  # a link altered by hand
