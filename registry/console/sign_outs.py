"""Signing out of the console everywhere: a signed cookie cannot be taken back from the browser
that holds it (or from whoever copied it), so signing out records when, per access key, and every
node refuses that key's sessions signed in before then. One row per key, so no number of sign-ins
and sign-outs grows the table; a row older than any live cookie is deleted by the next sign-out.

Sessions are dated by the clock of the node that signed them in: a session signed out of is always
refused, and another of the same key only when it was signed in before, give or take the nodes'
clock difference."""

from __future__ import annotations

import time

from sqlalchemy import case, delete, select

from registry.console.sessions import SESSION_SECONDS, Session
from registry.db import Database, dialect_insert
from registry.models import ConsoleSignOut


def record_sign_out(db: Database, session: Session) -> None:
    now_ms = time.time_ns() // 1_000_000
    table = ConsoleSignOut.__table__
    with db.write() as transaction:
        expired = now_ms - SESSION_SECONDS * 1000
        transaction.execute(delete(table).where(table.c.signed_out_ms < expired))
        # Never before the session itself, whatever the clock of the node that signed it in
        # said; never earlier than a sign-out already recorded (one at the same moment too).
        statement = dialect_insert(transaction, table).values(
            access_key_id=session.access_key_id, signed_out_ms=max(now_ms, session.issued_ms)
        )
        later = statement.excluded.signed_out_ms
        transaction.execute(
            statement.on_conflict_do_update(
                index_elements=["access_key_id"],
                set_={
                    "signed_out_ms": case(
                        (later > table.c.signed_out_ms, later), else_=table.c.signed_out_ms
                    )
                },
            )
        )


def signed_out(db: Database, session: Session) -> bool:
    """Whether the key signed out since this session was signed in."""
    with db.connect() as connection:
        cutoff = connection.execute(
            select(ConsoleSignOut.signed_out_ms).where(
                ConsoleSignOut.access_key_id == session.access_key_id
            )
        ).scalar()
    return cutoff is not None and session.issued_ms <= cutoff
