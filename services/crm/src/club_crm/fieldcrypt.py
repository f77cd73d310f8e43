"""Field-level encryption of customers' personal data at rest (R1 §4.4, §6.1–6.2).

Every personal value is stored as

    v1:<key id>:<base64url(nonce ‖ AES-256-GCM ciphertext ‖ tag)>

- **Keys** come from `CRM_FIELD_ENCRYPTION_KEYS`: a comma-separated list, newest first, each
  32 random bytes in URL-safe base64 (padding optional), which is exactly what
  `python3 -c "import secrets; print(secrets.token_urlsafe(32))"` prints. The newest key
  encrypts; any listed key decrypts. A key's id is derived from the key itself (the first
  8 hex digits of a SHA-256 over it), so an operator never types ids by hand.
- **Associated data** is the value's place (`customers.email:<customer id>`): a ciphertext
  copied into another row or column does not decrypt.
- **Lookups** (find a customer by e-mail or phone) use a keyed hash, HMAC-SHA-256 with a key
  derived from each encryption key, stored as `<key id>:<hex>`; a search tries every
  configured key, so lookups keep working during a rotation.
- **Survey links** carry `base64url(invitation id ‖ HMAC)`: nothing to store, checked under
  every configured key.

Rotation (see the service README): put the new key first, restart, run `club-crm reencrypt`,
check it reports nothing left under old keys, then drop the old key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FORMAT = "v1"
KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_MAC_BYTES = 16


class InvalidKeySetting(ValueError):
    """The key setting is malformed (raised at startup, never with a key in the message)."""


class CannotDecrypt(Exception):
    """A stored value cannot be opened: its key is no longer configured, or it was altered or
    moved. An operator problem (a key dropped too early), not bad input."""


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"club-crm-field-key:" + key).hexdigest()[:8]


def parse_keys(setting: str) -> list[bytes]:
    """`CRM_FIELD_ENCRYPTION_KEYS` → keys, newest first. Errors never echo key material."""
    parts = [p.strip() for p in setting.split(",") if p.strip()]
    if not parts:
        raise InvalidKeySetting("CRM_FIELD_ENCRYPTION_KEYS is empty: give at least one key")
    keys = []
    for position, part in enumerate(parts, start=1):
        try:
            key = _b64decode(part)
        except (binascii.Error, ValueError) as e:
            raise InvalidKeySetting(f"key {position} of CRM_FIELD_ENCRYPTION_KEYS is not URL-safe "
                            "base64") from e
        if len(key) != KEY_BYTES:
            raise InvalidKeySetting(f"key {position} of CRM_FIELD_ENCRYPTION_KEYS decodes to "
                            f"{len(key)} bytes; each key must be {KEY_BYTES} random bytes")
        keys.append(key)
    if len({key_id(k) for k in keys}) != len(keys):
        raise InvalidKeySetting("CRM_FIELD_ENCRYPTION_KEYS lists the same key twice")
    return keys


def generate_key() -> str:
    """A new key in the setting's format."""
    return _b64encode(os.urandom(KEY_BYTES))


def _derive(key: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(key)


class FieldCipher:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise InvalidKeySetting("at least one field encryption key is needed")
        self._ids = [key_id(k) for k in keys]
        self._aead = {kid: AESGCM(k) for kid, k in zip(self._ids, keys, strict=True)}
        self._lookup = {kid: _derive(k, b"club-crm lookup v1")
                        for kid, k in zip(self._ids, keys, strict=True)}
        self._token = {kid: _derive(k, b"club-crm survey token v1")
                       for kid, k in zip(self._ids, keys, strict=True)}

    @classmethod
    def from_setting(cls, setting: str) -> FieldCipher:
        return cls(parse_keys(setting))

    @property
    def current_key_id(self) -> str:
        return self._ids[0]

    @property
    def key_ids(self) -> list[str]:
        return list(self._ids)

    # ------------------------------------------------------------ values

    def seal(self, plaintext: str, *, place: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        kid = self._ids[0]
        sealed = self._aead[kid].encrypt(nonce, plaintext.encode(), place.encode())
        return f"{FORMAT}:{kid}:{_b64encode(nonce + sealed)}"

    def seal_optional(self, plaintext: str | None, *, place: str) -> str | None:
        return None if plaintext is None else self.seal(plaintext, place=place)

    def open(self, stored: str, *, place: str) -> str:
        try:
            version, kid, body = stored.split(":", 2)
        except ValueError as e:
            raise CannotDecrypt(f"a value of {place.split(':')[0]} is not in the v1 format") from e
        aead = self._aead.get(kid)
        if version != FORMAT or aead is None:
            raise CannotDecrypt(f"a value of {place.split(':')[0]} was encrypted with key {kid}, "
                                "which is not configured (was it dropped before re-encryption?)")
        raw = _b64decode(body)
        try:
            return aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], place.encode()).decode()
        except InvalidTag as e:
            raise CannotDecrypt(f"a value of {place.split(':')[0]} failed its integrity "
                                "check") from e

    def open_optional(self, stored: str | None, *, place: str) -> str | None:
        return None if stored is None else self.open(stored, place=place)

    def is_current(self, stored: str | None) -> bool:
        """True when a sealed value is empty or already under the newest key."""
        return stored is None or stored.startswith(f"{FORMAT}:{self._ids[0]}:")

    # ------------------------------------------------------------ lookups

    def lookup(self, normalised: str) -> str:
        """The keyed hash of a normalised value under the newest key."""
        return self._lookup_under(self._ids[0], normalised)

    def lookups(self, normalised: str) -> list[str]:
        """The keyed hash under every configured key: a search matches rows not yet rotated."""
        return [self._lookup_under(kid, normalised) for kid in self._ids]

    def lookup_is_current(self, stored: str | None) -> bool:
        return stored is None or stored.startswith(f"{self._ids[0]}:")

    def _lookup_under(self, kid: str, normalised: str) -> str:
        digest = hmac.new(self._lookup[kid], normalised.encode(), hashlib.sha256).hexdigest()
        return f"{kid}:{digest}"

    # ------------------------------------------------------------ survey tokens

    def survey_token(self, invitation_id: UUID) -> str:
        mac = hmac.new(self._token[self._ids[0]], invitation_id.bytes, hashlib.sha256).digest()
        return _b64encode(invitation_id.bytes + mac[:TOKEN_MAC_BYTES])

    def invitation_of(self, token: str) -> UUID | None:
        """The invitation a survey token was made for, or None when it is not genuine."""
        try:
            raw = _b64decode(token)
        except (binascii.Error, ValueError):
            return None
        if len(raw) != 16 + TOKEN_MAC_BYTES:
            return None
        invitation, mac = raw[:16], raw[16:]
        for kid in self._ids:
            expected = hmac.new(self._token[kid], invitation, hashlib.sha256).digest()
            if hmac.compare_digest(mac, expected[:TOKEN_MAC_BYTES]):
                return UUID(bytes=invitation)
        return None
