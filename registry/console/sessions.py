"""Console sessions: a signed, expiring cookie naming the access key an account signed in with,
and the CSRF token every changing form carries.

The cookie is signed with a key of the node's (derived from STRATA_SECRET_KEY when set, so every
node of a cluster accepts it; else kept in the data directory). It carries the access key id, a
fingerprint of the key's secret, a random nonce and when it was signed in; the server keeps only
when each key last signed out (sign_outs.py).
Every request looks the key up again (the same cached lookup SigV4 uses), so a deleted or rotated
key ends its console sessions as it ends its API access. The CSRF token is an HMAC of the nonce:
a page of another site can neither read it nor make it, and signing in draws a fresh nonce, so a
token seen before sign-in is worth nothing after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from itsdangerous import BadSignature, URLSafeTimedSerializer

from registry.accounts import Caller, KeyRecord
from registry.private_files import PRIVATE_DIR_MODE, key_file

COOKIE = "strata_console"
SESSION_SECONDS = 8 * 60 * 60
CONSOLE_KEY_FILE = "console.key"


@dataclass(frozen=True)
class Session:
    nonce: str
    access_key_id: str | None = None  # None before sign-in
    issued_ms: int = 0  # when it was signed in, by the clock of the node that signed it in


@dataclass(frozen=True)
class SignedIn:
    caller: Caller
    access_key_id: str


class SessionCodec:
    def __init__(self, key: bytes):
        self._key = key
        self._serializer = URLSafeTimedSerializer(key, salt="strata console session")

    @classmethod
    def from_settings(cls, settings) -> SessionCodec:
        if settings.secret_key:
            material = settings.secret_key.encode()
        else:
            settings.data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
            material = key_file(
                settings.data_dir / CONSOLE_KEY_FILE, lambda: secrets.token_urlsafe(32)
            ).encode()
        # Its own key: the secret box's key never signs anything a browser holds.
        key = HKDF(hashes.SHA256(), 32, salt=None, info=b"strata console sessions").derive(material)
        return cls(key)

    def new(self, record: KeyRecord | None = None, access_key_id: str | None = None) -> str:
        """A cookie value for a fresh anonymous session, or a signed-in one for `record`."""
        data = {"n": secrets.token_urlsafe(18)}
        if record is not None:
            data.update(
                k=access_key_id,
                f=self._fingerprint(record.secret_access_key),
                t=time.time_ns() // 1_000_000,
            )
        return self._serializer.dumps(data)

    def read(self, value: str | None) -> tuple[Session | None, str | None]:
        """The session a cookie names, and the secret fingerprint it was made with; (None, None)
        for a missing, forged or expired cookie."""
        if not value:
            return None, None
        try:
            data = self._serializer.loads(value, max_age=SESSION_SECONDS)
        except BadSignature:  # expired ones included (SignatureExpired is a BadSignature)
            return None, None
        if not isinstance(data, dict) or not isinstance(data.get("n"), str):
            return None, None
        issued = data.get("t")
        issued_ms = issued if isinstance(issued, int) else 0
        return Session(data["n"], data.get("k"), issued_ms), data.get("f")

    def still_valid(self, fingerprint: str | None, record: KeyRecord | None) -> bool:
        """The key the session signed in with still exists with the same secret."""
        return (
            record is not None
            and isinstance(fingerprint, str)
            and hmac.compare_digest(fingerprint, self._fingerprint(record.secret_access_key))
        )

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._key, f"csrf\0{session.nonce}".encode(), hashlib.sha256).hexdigest()

    def csrf_valid(self, session: Session | None, token: str | None) -> bool:
        if session is None or not token:
            return False
        return hmac.compare_digest(self.csrf_token(session), token)

    def _fingerprint(self, secret: str) -> str:
        return hmac.new(self._key, f"secret\0{secret}".encode(), hashlib.sha256).hexdigest()[:32]


def secret_matches(record: KeyRecord | None, secret: str) -> bool:
    """The secret key checked as a SigV4 signature checks it: against the stored one, in constant
    time; an unknown key id costs the same comparison."""
    stored = record.secret_access_key if record is not None else secrets.token_urlsafe(30)
    return hmac.compare_digest(stored.encode(), secret.encode()) and record is not None
