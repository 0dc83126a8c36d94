"""Encryption at rest of access keys' secrets (AES-256-GCM, from the `cryptography` library).

The key lives outside the database: `STRATA_SECRET_KEY`, or else the `secret.key` file in the data
directory (0600, generated on first use), so a copy of the database alone reveals no secret.
A stored secret reads `v1:<key id>:<base64url(nonce | ciphertext | tag)>`; the key id names the
key that sealed it, so a later key change can tell which rows still need the old key. The access
key id is authenticated with the ciphertext: a sealed secret moved to another row does not open.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.errors import SecretsUnreadable

SECRET_KEY_FILE = "secret.key"
MIN_KEY_CHARS = 32
_FORMAT = "v1"
_NONCE_BYTES = 12


class SecretBox:
    def __init__(self, key_material: str):
        if len(key_material) < MIN_KEY_CHARS:
            raise ValueError(
                f"the secret key must be at least {MIN_KEY_CHARS} characters "
                "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        # HKDF turns any long enough string (a generated token, a passphrase from a vault) into
        # a uniform AES key; the info string keeps this key apart from any other use of it.
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"strata access-key secrets").derive(
            key_material.encode()
        )
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"strata key id" + key).hexdigest()[:8]

    @classmethod
    def from_settings(cls, settings) -> SecretBox:
        """`settings.secret_key`, else the data directory's key file (created if missing)."""
        if settings.secret_key:
            return cls(settings.secret_key)
        from registry.private_files import PRIVATE_DIR_MODE, key_file

        directory = settings.data_dir
        directory.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
        return cls(key_file(directory / SECRET_KEY_FILE, lambda: secrets.token_urlsafe(32)))

    def seal(self, access_key_id: str, secret: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, secret.encode(), access_key_id.encode())
        encoded = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{_FORMAT}:{self.key_id}:{encoded}"

    def open(self, access_key_id: str, stored: str) -> str:
        """The plaintext of a sealed secret; SecretsUnreadable if this key did not seal it."""
        form, _, rest = stored.partition(":")
        key_id, _, body = rest.partition(":")
        if form != _FORMAT or not body:
            raise SecretsUnreadable(f"the secret of access key {access_key_id} is not sealed")
        if key_id != self.key_id:
            raise SecretsUnreadable(
                f"the secret of access key {access_key_id} was sealed with key {key_id}, "
                f"but the configured secret key is {self.key_id}"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            plain = self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], access_key_id.encode()
            )
        except (InvalidTag, ValueError):
            raise SecretsUnreadable(
                f"the secret of access key {access_key_id} does not decrypt"
            ) from None
        return plain.decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(_FORMAT + ":")
