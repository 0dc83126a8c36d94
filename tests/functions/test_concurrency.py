"""Reserved concurrency and the rules every concurrency setting keeps, on a migrated SQLite
database and called directly: the typed errors each refusal is, what an account's functions claim,
and the concurrency limit an operator sets. The same rules through boto3 and real servers are in
tests/api/test_concurrency.py and tests/invocations/test_provisioned.py."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from registry.account_settings import account_settings, set_concurrency_limit
from registry.archives import ZipContent
from registry.errors import (
    AccessDenied,
    InvalidParameterValue,
    ProvisionedOverReserved,
    ResourceNotFound,
    UnreservedConcurrencyBelowMinimum,
)
from registry.functions.concurrency import Claims, check_provisioned, claims
from registry.functions.names import FunctionRef
from registry.models import Function, ProvisionedConcurrency
from tests.support.functions import ECHO, ROLE, RUNTIME

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}


@pytest.fixture
def service(function_service):
    return function_service


@pytest.fixture
def db(migrated_registry):
    return migrated_registry.db


@pytest.fixture
def caller(new_caller):
    return new_caller()


def fn(name: str, qualifier: str | None = None) -> FunctionRef:
    return FunctionRef(name, None, qualifier)


def make(service, caller, name: str) -> int:
    """A function of `caller`'s; its id."""
    return service.create(caller, fn(name), ZipContent(zip_file=ECHO), dict(SETTINGS)).function_id


def provision(db, function_id: int, qualifier: str, count: int) -> None:
    """A provisioned setting as PutProvisionedConcurrencyConfig stores it, without warming."""
    with db.write() as session:
        session.add(
            ProvisionedConcurrency(
                function_id=function_id,
                qualifier=qualifier,
                requested=count,
                status="READY",
                last_modified=datetime.now(timezone.utc),
            )
        )


def claimed(db, account_id: str, excluding: int | None = None) -> Claims:
    with db.read() as session:
        return claims(session, account_id, excluding=excluding)


def check(db, account_id: str, function_id: int, qualifier: str, count: int) -> None:
    with db.write() as session:
        check_provisioned(session, account_id, function_id, qualifier, count, lock=True)


def test_claims__reservations_and_the_provisioned_concurrency_of_functions_without_one(
    service, db, caller, new_caller
):
    reserving = make(service, caller, "reserving")
    sharing = make(service, caller, "sharing")
    make(service, caller, "idle")
    service.put_concurrency(caller, fn("reserving"), 40)
    provision(db, reserving, "1", 30)  # inside its reservation: claimed once, as the reservation
    provision(db, sharing, "1", 5)
    provision(db, sharing, "live", 2)
    other = new_caller()
    make(service, other, "theirs")
    service.put_concurrency(other, fn("theirs"), 50)

    assert claimed(db, caller.account_id) == Claims(reserved=40, provisioned=7)
    assert claimed(db, caller.account_id, excluding=sharing) == Claims(40, 0)
    assert claimed(db, caller.account_id, excluding=reserving) == Claims(0, 7)
    assert claimed(db, other.account_id) == Claims(50, 0)
    settings = account_settings(db, caller.account_id)
    assert (settings.concurrency_limit, settings.unreserved_concurrency) == (1000, 960)


def test_put_concurrency__refusals_are_typed_and_carry_the_figures(service, db, caller):
    first = make(service, caller, "first")
    make(service, caller, "second")
    provision(db, first, "1", 3)
    with pytest.raises(ProvisionedOverReserved) as below:
        service.put_concurrency(caller, fn("first"), 2)
    assert (below.value.provisioned, below.value.reserved) == (3, 2)
    assert service.put_concurrency(caller, fn("first"), 3) == 3

    service.put_concurrency(caller, fn("second"), 897)  # 1000 - 3 - 897 = 100
    with pytest.raises(UnreservedConcurrencyBelowMinimum) as over:
        service.put_concurrency(caller, fn("second"), 898)
    assert (over.value.unreserved, over.value.minimum) == (99, 100)
    assert isinstance(over.value, InvalidParameterValue)  # InvalidParameterValueException
    assert service.get_concurrency(caller, fn("second")) == 897


@pytest.mark.parametrize("value", [-1, 1.0, True, "5", None])
def test_put_concurrency__refuses_what_is_not_a_whole_number_from_0(service, caller, value):
    make(service, caller, "typed")
    with pytest.raises(InvalidParameterValue, match="ReservedConcurrentExecutions"):
        service.put_concurrency(caller, fn("typed"), value)
    assert service.get_concurrency(caller, fn("typed")) is None


def test_function_concurrency__only_the_functions_own_account_reaches_it(
    service, caller, new_caller
):
    make(service, caller, "private")
    other = new_caller()
    ref = FunctionRef("private", caller.account_id, None)
    for call in (
        lambda: service.put_concurrency(other, ref, 1),
        lambda: service.get_concurrency(other, ref),
        lambda: service.delete_concurrency(other, ref),
    ):
        with pytest.raises(AccessDenied):
            call()
    with pytest.raises(ResourceNotFound):
        service.get_concurrency(other, fn("private"))
    with pytest.raises(InvalidParameterValue, match="qualifier"):
        service.get_concurrency(caller, fn("private", "1"))


def test_delete_concurrency__the_function_then_claims_its_provisioned_concurrency(
    service, db, caller
):
    function_id = make(service, caller, "released")
    service.put_concurrency(caller, fn("released"), 10)
    provision(db, function_id, "1", 4)
    assert claimed(db, caller.account_id) == Claims(10, 0)
    service.delete_concurrency(caller, fn("released"))
    service.delete_concurrency(caller, fn("released"))  # idempotent
    assert claimed(db, caller.account_id) == Claims(0, 4)
    with db.read() as session:
        assert session.scalar(select(Function.reserved_concurrency).where(
            Function.id == function_id)) is None  # fmt: skip


def test_check_provisioned__fits_in_the_reservation_over_every_version_and_alias(
    service, db, caller
):
    function_id = make(service, caller, "reserved")
    service.put_concurrency(caller, fn("reserved"), 5)
    provision(db, function_id, "1", 3)
    check(db, caller.account_id, function_id, "live", 2)
    check(db, caller.account_id, function_id, "1", 5)  # replaces the 3 it has
    with pytest.raises(ProvisionedOverReserved) as refused:
        check(db, caller.account_id, function_id, "live", 3)
    assert (refused.value.provisioned, refused.value.reserved) == (6, 5)
    assert str(refused.value) == (
        "Requested Provisioned Concurrency should not be greater than the "
        "reservedConcurrentExecution for function"
    )


def test_check_provisioned__without_a_reservation_leaves_100_unreserved(service, db, caller):
    sharing = make(service, caller, "sharing")
    other = make(service, caller, "other")
    make(service, caller, "reserving")
    service.put_concurrency(caller, fn("reserving"), 890)
    provision(db, other, "1", 6)
    check(db, caller.account_id, sharing, "1", 4)  # 1000 - 890 - 6 - 4 = 100
    with pytest.raises(UnreservedConcurrencyBelowMinimum) as refused:
        check(db, caller.account_id, sharing, "1", 5)
    assert refused.value.unreserved == 99
    assert str(refused.value) == (
        "Specified ConcurrentExecutions for function decreases account's "
        "UnreservedConcurrentExecution below its minimum value of [100]."
    )


def test_set_concurrency_limit__refuses_to_leave_less_than_100_unreserved(service, db, caller):
    sharing = make(service, caller, "sharing")
    make(service, caller, "reserving")
    service.put_concurrency(caller, fn("reserving"), 300)
    provision(db, sharing, "1", 20)
    with pytest.raises(UnreservedConcurrencyBelowMinimum) as refused:
        set_concurrency_limit(db, caller.account_id, 419)
    message = str(refused.value)
    assert "would leave 99 executions unreserved" in message
    assert "reserve 300 and provision 20 more" in message and "at least 420" in message
    assert account_settings(db, caller.account_id).concurrency_limit == 1000
    set_concurrency_limit(db, caller.account_id, 420)
    settings = account_settings(db, caller.account_id)
    assert (settings.concurrency_limit, settings.unreserved_concurrency) == (420, 120)
