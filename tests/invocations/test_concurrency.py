"""The concurrency gate on SQLite and PostgreSQL: each gate stands for one app process (on any
node), and the limits hold over all of them through the database they share."""

from __future__ import annotations

import itertools
import os
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone

import pytest
from sqlalchemy import select, update

from registry import db as database
from registry.errors import ConcurrentInvocationLimitExceeded, ReservedConcurrencyExceeded
from registry.invocations import concurrency
from registry.invocations.concurrency import ConcurrencyGate
from registry.models import Account, ConcurrencyHold, Function, ProvisionedConcurrency

_ids = itertools.count(int.from_bytes(os.urandom(3), "big") * 1000)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'strata.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database.upgrade(url)
    db = database.Database(url)
    try:
        yield db
    finally:
        db.dispose()


def new_account(db, limit: int = 1000) -> str:
    account_id = f"{next(_ids) % 10**12:012d}"
    with db.write() as session:
        session.add(
            Account(id=account_id, created_at=datetime.now(timezone.utc), concurrency_limit=limit)
        )
    return account_id


def new_function(db, account_id: str, reserved: int | None = None) -> tuple[int, str, int | None]:
    now = datetime.now(timezone.utc)
    row = Function(
        account_id=account_id,
        name=f"f{uuid.uuid4().hex[:8]}",
        code_digest="0" * 64,
        code_size=1,
        unzipped_size=1,
        config={},
        layers=[],
        tags={},
        revision_id=str(uuid.uuid4()),
        created_at=now,
        last_modified=now,
        reserved_concurrency=reserved,
    )
    with db.write() as session:
        session.add(row)
        session.flush()
        return row.id, account_id, reserved


def reserve(db, function: tuple[int, str, int | None], reserved: int | None):
    with db.write() as session:
        session.execute(
            update(Function).where(Function.id == function[0]).values(reserved_concurrency=reserved)
        )
    return function[0], function[1], reserved


def held_in_database(db, function_id: int) -> int:
    with db.read() as session:
        counts = session.scalars(
            select(ConcurrencyHold.count).where(ConcurrencyHold.function_id == function_id)
        ).all()
    return sum(counts)


def hold(stack: ExitStack, gate: ConcurrencyGate, function, times: int = 1) -> None:
    for _ in range(times):
        stack.enter_context(gate.execution(*function))


def test_gate__reserved_concurrency_is_the_most_a_function_runs_at_once(db):
    function = new_function(db, new_account(db), reserved=2)
    gate = ConcurrencyGate(db)
    with ExitStack() as stack:
        hold(stack, gate, function, 2)
        with pytest.raises(ReservedConcurrencyExceeded) as throttled:
            hold(stack, gate, function)
        assert throttled.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert gate.running(function[0]) == 2
    with gate.execution(*function):  # given back at once: the next caller gets it
        assert held_in_database(db, function[0]) == 1
    assert held_in_database(db, function[0]) == 0


def test_gate__a_burst_granted_together_still_stops_at_the_reservation(db):
    function = new_function(db, new_account(db), reserved=5)
    gate = ConcurrencyGate(db)
    start, finish = threading.Barrier(20), threading.Event()
    outcomes = []

    def execute():
        start.wait()
        try:
            with gate.execution(*function):
                outcomes.append("ran")
                finish.wait(10)
        except ReservedConcurrencyExceeded as error:
            outcomes.append(error.reason)

    threads = [threading.Thread(target=execute) for _ in range(20)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(outcomes) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert held_in_database(db, function[0]) == 5
    finish.set()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == sorted(
        ["ran"] * 5 + ["ReservedFunctionConcurrentInvocationLimitExceeded"] * 15
    )
    assert held_in_database(db, function[0]) == 0


def test_gate__a_reservation_holds_across_processes_and_nodes(db):
    function = new_function(db, new_account(db), reserved=1)
    here, elsewhere = ConcurrencyGate(db), ConcurrencyGate(db)
    with here.execution(*function), pytest.raises(ReservedConcurrencyExceeded):
        hold(ExitStack(), elsewhere, function)
    with elsewhere.execution(*function):
        assert held_in_database(db, function[0]) == 1


def test_gate__reserved_zero_throttles_every_invocation(db):
    function = new_function(db, new_account(db), reserved=0)
    with pytest.raises(ReservedConcurrencyExceeded), ConcurrencyGate(db).execution(*function):
        pass


def test_gate__unreserved_functions_share_what_the_account_leaves_unreserved(db):
    account_id = new_account(db, limit=100)
    isolated = new_function(db, account_id, reserved=97)
    first, second = new_function(db, account_id), new_function(db, account_id)
    gate = ConcurrencyGate(db)
    with ExitStack() as stack:
        hold(stack, gate, first, 2)
        hold(stack, ConcurrencyGate(db), second)
        with pytest.raises(ConcurrentInvocationLimitExceeded) as throttled:
            hold(stack, gate, second)
        assert throttled.value.reason == "ConcurrentInvocationLimitExceeded"
        # The reserved function keeps its own 97 whatever the others use.
        hold(stack, gate, isolated, 97)
    other_account = new_function(db, new_account(db, limit=100))
    with gate.execution(*other_account):
        pass


def provision(db, function, count: int) -> None:
    with db.write() as session:
        session.add(
            ProvisionedConcurrency(
                function_id=function[0],
                qualifier="1",
                requested=count,
                status="READY",
                last_modified=datetime.now(timezone.utc),
            )
        )


def test_gate__provisioned_concurrency_is_set_aside_from_the_unreserved_pool(db):
    account_id = new_account(db, limit=5)
    provisioned, other = new_function(db, account_id), new_function(db, account_id)
    provision(db, provisioned, 3)  # the pool keeps 5 - 3 = 2
    gate = ConcurrencyGate(db)
    with ExitStack() as stack:
        hold(stack, gate, other, 2)
        with pytest.raises(ConcurrentInvocationLimitExceeded):
            hold(stack, gate, other)
        hold(stack, gate, provisioned, 3)  # on the capacity set aside for it
        with pytest.raises(ConcurrentInvocationLimitExceeded):
            hold(stack, gate, provisioned)  # beyond it, from the exhausted pool
    with ExitStack() as stack:
        hold(stack, ConcurrencyGate(db), provisioned, 5)  # the pool is free again


def test_gate__a_warm_unit_lingers_and_is_given_back_once_idle(db, monkeypatch):
    monkeypatch.setattr(concurrency, "LINGER_SECONDS", 0.2)
    function = new_function(db, new_account(db))
    gate = ConcurrencyGate(db)
    gate.start()
    try:
        with gate.execution(*function):
            pass
        with gate.execution(*function):  # the idle unit again, no new grant
            assert held_in_database(db, function[0]) == 1
        assert held_in_database(db, function[0]) == 1
        deadline = time.monotonic() + 5
        while held_in_database(db, function[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert held_in_database(db, function[0]) == 0
    finally:
        gate.stop()


def test_gate__a_reservation_set_after_a_warm_invocation_applies_to_the_next_one(db):
    function = new_function(db, new_account(db))
    gate = ConcurrencyGate(db)
    with gate.execution(*function):
        pass
    assert held_in_database(db, function[0]) == 1  # lingering
    with pytest.raises(ReservedConcurrencyExceeded), gate.execution(*reserve(db, function, 0)):
        pass


def test_gate__units_of_a_holder_that_stopped_renewing_stop_counting(db):
    function = new_function(db, new_account(db), reserved=1)
    dead = ConcurrencyGate(db)
    stack = ExitStack()
    hold(stack, dead, function)  # never released: its process was killed
    with pytest.raises(ReservedConcurrencyExceeded), ConcurrencyGate(db).execution(*function):
        pass
    with db.write() as session:
        session.execute(
            update(ConcurrencyHold)
            .where(ConcurrencyHold.holder == dead.holder)
            .values(renewed_at=time.time() - concurrency.STALE_SECONDS - 1)
        )
    survivor = ConcurrencyGate(db)
    with survivor.execution(*function):
        pass
    survivor._renew()  # and the dead holder's row is deleted
    with db.read() as session:
        holders = session.scalars(select(ConcurrencyHold.holder)).all()
    assert dead.holder not in holders


def test_gate__stopping_gives_every_unit_back(db):
    function = new_function(db, new_account(db))
    gate = ConcurrencyGate(db)
    gate.start()
    for _ in range(3):
        with gate.execution(*function):
            pass
    assert held_in_database(db, function[0]) == 1
    gate.stop()
    assert held_in_database(db, function[0]) == 0
