"""When each access key last signed out of the console: read on every signed-in console request,
so it holds one row per key, however often anyone signs in and out."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete, select

from registry.console.sessions import SESSION_SECONDS, Session
from registry.console.sign_outs import record_sign_out, signed_out
from registry.db import Database, upgrade
from registry.models import ConsoleSignOut

KEY = "AKIAEXAMPLE000000001"


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sign-outs') / 'console.db'}"
    upgrade(url)
    return url


@pytest.fixture
def db(migrated):
    database = Database(migrated)
    with database.write() as transaction:
        transaction.execute(delete(ConsoleSignOut))
    yield database
    database.dispose()


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def rows(db) -> dict[str, int]:
    with db.read() as session:
        return dict(
            session.execute(
                select(ConsoleSignOut.access_key_id, ConsoleSignOut.signed_out_ms)
            ).all()
        )


def test_sign_out__ends_the_keys_sessions_signed_in_before_it_and_no_later_ones(db):
    earlier = Session("nonce-b", KEY, now_ms() - 60_000)
    record_sign_out(db, Session("nonce-a", KEY, now_ms() - 1_000))

    assert signed_out(db, Session("nonce-a", KEY, now_ms() - 1_000))
    assert signed_out(db, earlier)
    assert not signed_out(db, Session("nonce-c", KEY, now_ms() + 1_000))
    assert not signed_out(db, Session("nonce-d", "AKIAOTHERKEY00000000", now_ms() - 60_000))


def test_sign_out__a_session_dated_by_a_clock_ahead_of_this_one_is_ended_too(db):
    ahead = Session("nonce-a", KEY, now_ms() + 30_000)

    record_sign_out(db, ahead)

    assert signed_out(db, ahead)


def test_sign_out__one_row_per_key_however_often(db):
    for n in range(30):
        record_sign_out(db, Session(f"nonce-{n}", KEY, now_ms()))

    assert list(rows(db)) == [KEY]


def test_sign_out__rows_older_than_any_live_cookie_go_with_the_next_one(db):
    old = now_ms() - SESSION_SECONDS * 1000 - 1
    recent = now_ms() - 60_000
    with db.write() as transaction:
        transaction.add(ConsoleSignOut(access_key_id="AKIAOLD0000000000000", signed_out_ms=old))
        transaction.add(ConsoleSignOut(access_key_id="AKIARECENT0000000000", signed_out_ms=recent))

    record_sign_out(db, Session("nonce", KEY, now_ms()))

    assert set(rows(db)) == {"AKIARECENT0000000000", KEY}
