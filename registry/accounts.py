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
from registry.errors import ResourceConflict
from registry.models import AccessKey, Account


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
    access_key_id = access_key_id or "AKIA" + secrets.token_hex(8).upper()
    secret_access_key = secret_access_key or secrets.token_urlsafe(30)
    now = datetime.now(timezone.utc)
    try:
        with db.write() as session:
            session.add(Account(id=account_id, organization_id=organization_id, created_at=now))
            session.flush()
            session.add(
                AccessKey(
                    access_key_id=access_key_id,
                    account_id=account_id,
                    secret_access_key=secret_access_key,
                    created_at=now,
                )
            )
    except IntegrityError:
        raise ResourceConflict(f"Account {account_id} or access key {access_key_id} already exists.") from None
    return Credentials(account_id, access_key_id, secret_access_key)


def seed_dev_account(db: Database) -> Credentials:
    """The account local AWS emulators conventionally use: 000000000000 with key test/test."""
    with db.read() as session:
        if session.get(AccessKey, DEV_ACCESS_KEY_ID) is not None:
            return Credentials(DEV_ACCOUNT_ID, DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY)
    try:
        return create_account(
            db,
            account_id=DEV_ACCOUNT_ID,
            access_key_id=DEV_ACCESS_KEY_ID,
            secret_access_key=DEV_SECRET_ACCESS_KEY,
        )
    except ResourceConflict:  # another worker seeded it first
        return Credentials(DEV_ACCOUNT_ID, DEV_ACCESS_KEY_ID, DEV_SECRET_ACCESS_KEY)


class KeyDirectory:
    """Looks up access keys, caching them briefly: every request needs one, and keys rarely change."""

    def __init__(self, db: Database, ttl_seconds: float = 30.0):
        self._db = db
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
        return KeyRecord(Caller(row.id, row.organization_id), row.secret_access_key)


def _random_account_id() -> str:
    # Never the dev account's all-zero id.
    return str(secrets.randbelow(9 * 10**11) + 10**11)
