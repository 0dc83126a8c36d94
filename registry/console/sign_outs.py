"""Signing out of the console everywhere: a signed cookie cannot be taken back from the browser
that holds it (or from whoever copied it), so signing out records when, per access key, and every
node refuses that key's sessions signed in before then. One row per key, so no number of sign-ins
and sign-outs grows the table; a row older than any live cookie is deleted by the next sign-out.

Sessions are dated by the clock of the node that signed them in: a session signed out of is always
refused, and another of the same key only when it was signed in before, give or take the nodes'
clock difference."""

from __future__ import annotations

import time

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from registry.console.sessions import SESSION_SECONDS, Session
from registry.db import Database
from registry.models import ConsoleSignOut


def record_sign_out(db: Database, session: Session) -> None:
    now_ms = time.time_ns() // 1_000_000
    # Never before the session itself, whatever the clock of the node that signed it in said.
    cutoff = max(now_ms, session.issued_ms)
    for attempt in range(2):
        try:
            with db.write() as transaction:
                expired = now_ms - SESSION_SECONDS * 1000
                transaction.execute(
                    delete(ConsoleSignOut).where(ConsoleSignOut.signed_out_ms < expired)
                )
                row = transaction.get(ConsoleSignOut, session.access_key_id)
                if row is None:
                    transaction.add(
                        ConsoleSignOut(access_key_id=session.access_key_id, signed_out_ms=cutoff)
                    )
                elif row.signed_out_ms < cutoff:
                    row.signed_out_ms = cutoff
            return
        except IntegrityError:
            # Another sign-out of the key added its row first: the second attempt updates it.
            if attempt:
                raise


def signed_out(db: Database, session: Session) -> bool:
    """Whether the key signed out since this session was signed in."""
    with db.connect() as connection:
        cutoff = connection.execute(
            select(ConsoleSignOut.signed_out_ms).where(
                ConsoleSignOut.access_key_id == session.access_key_id
            )
        ).scalar()
    return cutoff is not None and session.issued_ms <= cutoff
