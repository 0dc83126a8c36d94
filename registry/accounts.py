"""Accounts and their access keys (the identities SigV4 requests are signed with)."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from registry import validation
from registry.config import DEV_ACCESS_KEY_ID, DEV_ACCOUNT_ID, DEV_SECRET_ACCESS_KEY
from registry.db import Database
from registry.errors import ResourceConflict, ResourceNotFound
from registry.models import AccessKey, Account
from registry.secret_box import SecretBox


@dataclass(frozen=True)
class Caller:
    """The authenticated account a request acts for."""

    account_id: str
    organization_id: str | None = None


@dataclass(frozen=True)
class Credentials:
    account_id: str
    access_key_id: str
    secret_access_key: str


@dataclass(frozen=True)
class KeyRecord:
    caller: Caller
    secret_access_key: str


def create_account(
    db: Database,
    *,
    box: SecretBox,
    account_id: str | None = None,
    organization_id: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> Credentials:
    if account_id is not None:
        validation.check_account_id(account_id)
    if organization_id is not None:
        validation.check_organization_id(organization_id)
    account_id = account_id or _random_account_id()
    access_key_id = access_key_id or _new_access_key_id()
    secret_access_key = secret_access_key or _new_secret()
    now = datetime.now(timezone.utc)
    try:
        with db.write() as session:
            session.add(Account(id=account_id, organization_id=organization_id, created_at=now))
            session.flush()
            session.add(_access_key(box, account_id, access_key_id, secret_access_key, now))
    except IntegrityError:
        raise ResourceConflict(
            f"Account {account_id} or access key {access_key_id} already exists."
        ) from None
    return Credentials(account_id, access_key_id, secret_access_key)


def add_access_key(
    db: Database,
    *,
    box: SecretBox,
    account_id: str,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
) -> Credentials:
    """A further key pair for an existing account (IAM's CreateAccessKey)."""
    access_key_id = access_key_id or _new_access_key_id()
    secret_access_key = secret_access_key or _new_secret()
    try:
        with db.write() as session:
            if session.get(Account, account_id) is None:
                raise ResourceNotFound(f"Account {account_id} does not exist.")
            session.add(
                _access_key(
                    box, account_id, access_key_id, secret_access_key, datetime.now(timezone.utc)
                )
            )
    except IntegrityError:
        raise ResourceConflict(f"Access key {access_key_id} already exists.") from None
    return Credentials(account_id, access_key_id, secret_access_key)


def delete_access_key(db: Database, access_key_id: str) -> None:
    """Requests signed with the key are refused once every app process's cache has let it go
    (KEY_CACHE_SECONDS)."""
    with db.write() as session:
        row = session.get(AccessKey, access_key_id)
        if row is None:
            raise ResourceNotFound(f"Access key {access_key_id} does not exist.")
        session.delete(row)


def rotate_access_key(
    db: Database, *, box: SecretBox, access_key_id: str, keep_old: bool = False
) -> Credentials:
    """A new key pair for the account that owns `access_key_id`; the old key is deleted in the
    same transaction unless `keep_old` (then delete it with delete_access_key once every client
    has the new one, as with IAM's two-key rotation)."""
    new_key_id, new_secret = _new_access_key_id(), _new_secret()
    with db.write() as session:
        old = session.get(AccessKey, access_key_id)
        if old is None:
            raise ResourceNotFound(f"Access key {access_key_id} does not exist.")
        account_id = old.account_id
        session.add(
            _access_key(box, account_id, new_key_id, new_secret, datetime.now(timezone.utc))
        )
        if not keep_old:
            session.delete(old)
    return Credentials(account_id, new_key_id, new_secret)


def seed_dev_account(db: Database, box: SecretBox) -> Credentials:
    """The account local AWS emulators conventionally use: 000000000000 with key test/test."""
    dev = Credentials(DEV_ACCOUNT_ID, DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY)
    with db.read() as session:
        if session.get(AccessKey, DEV_ACCESS_KEY_ID) is not None:
            return dev
        account_exists = session.get(Account, DEV_ACCOUNT_ID) is not None
    try:
        if account_exists:  # its key was rotated away: dev mode brings test/test back
            return add_access_key(
                db,
                box=box,
                account_id=DEV_ACCOUNT_ID,
                access_key_id=DEV_ACCESS_KEY_ID,
                secret_access_key=DEV_SECRET_ACCESS_KEY,
            )
        return create_account(
            db,
            box=box,
            account_id=DEV_ACCOUNT_ID,
            access_key_id=DEV_ACCESS_KEY_ID,
            secret_access_key=DEV_SECRET_ACCESS_KEY,
        )
    except ResourceConflict:  # another worker seeded it first
        return dev


# How long an app process keeps using a key record it looked up: a deleted or rotated key stops
# working within this time, and a lookup costs one indexed read per key per period.
KEY_CACHE_SECONDS = 2.0


class KeyDirectory:
    """Looks up access keys, caching them briefly: every request needs one, and keys rarely change.
    Secrets are decrypted on lookup and kept only in this cache, so a request pays no crypto."""

    def __init__(self, db: Database, box: SecretBox, ttl_seconds: float = KEY_CACHE_SECONDS):
        self._db = db
        self._box = box
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}
        self._lock = threading.Lock()

    def find(self, access_key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(access_key_id)
        if hit and now - hit[0] < self._ttl:
            return hit[1]
        record = self._load(access_key_id)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[access_key_id] = (now, record)
        return record

    def _load(self, access_key_id: str) -> KeyRecord | None:
        with self._db.read() as session:
            row = session.execute(
                select(AccessKey.secret_access_key, Account.id, Account.organization_id)
                .join(Account, Account.id == AccessKey.account_id)
                .where(AccessKey.access_key_id == access_key_id)
            ).first()
        if row is None:
            return None
        secret = self._box.open(access_key_id, row.secret_access_key)
        return KeyRecord(Caller(row.id, row.organization_id), secret)


def _access_key(
    box: SecretBox, account_id: str, access_key_id: str, secret: str, now: datetime
) -> AccessKey:
    return AccessKey(
        access_key_id=access_key_id,
        account_id=account_id,
        secret_access_key=box.seal(access_key_id, secret),
        created_at=now,
    )


def _new_access_key_id() -> str:
    return "AKIA" + secrets.token_hex(8).upper()


def _new_secret() -> str:
    return secrets.token_urlsafe(30)


def _random_account_id() -> str:
    # Never the dev account's all-zero id.
    return str(secrets.randbelow(9 * 10**11) + 10**11)
