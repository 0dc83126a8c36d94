"""Settling a function's state (registry/functions/states.py) on a migrated database: only the
revision that was prepared is settled, a failed creation is Failed, a failed update leaves the
function Active, and a success after a failure makes it Active again."""

from __future__ import annotations

from sqlalchemy import update

from registry.archives import ZipContent
from registry.functions import states
from registry.functions.names import FunctionRef
from registry.models import Function
from tests.support.functions import ROLE, RUNTIME, handler_zip

SETTINGS = {"runtime": RUNTIME, "handler": "app.handler", "role": ROLE}
BROKEN = ("Lambda could not prepare the deployment package: broken", "InvalidZipFileException")


def unsettled(function_service, migrated_registry, caller, name: str, columns: dict) -> str:
    """A settled function put back into `columns`' state under a revision of its own."""
    code = ZipContent(zip_file=handler_zip("def handler(e, c):\n    return 1\n"))
    view = function_service.create(caller, FunctionRef(name, None, None), code, dict(SETTINGS))
    with migrated_registry.db.write() as session:
        session.execute(
            update(Function)
            .where(Function.id == view.function_id)
            .values(revision_id="prepared-revision", **columns)
        )
    return view.function_id


def row(migrated_registry, function_id: int) -> Function:
    with migrated_registry.db.read() as session:
        return session.get(Function, function_id)


def test_settle__a_revision_changed_since_records_nothing(
    function_service, migrated_registry, new_caller
):
    function_id = unsettled(
        function_service, migrated_registry, new_caller(), "raced", states.updating()
    )
    with migrated_registry.db.write() as session:
        assert not states.settle(session, Function, function_id, "an-older-revision")
    assert row(migrated_registry, function_id).last_update_status == "InProgress"
    with migrated_registry.db.write() as session:
        assert states.settle(session, Function, function_id, "prepared-revision")
    settled = row(migrated_registry, function_id)
    assert (settled.state, settled.last_update_status) == ("Active", "Successful")
    assert settled.revision_id != "prepared-revision"


def test_settle__a_creation_that_fails_is_failed_with_the_reason(
    function_service, migrated_registry, new_caller
):
    function_id = unsettled(
        function_service, migrated_registry, new_caller(), "stillborn", states.creating()
    )
    with migrated_registry.db.write() as session:
        assert states.settle(session, Function, function_id, "prepared-revision", error=BROKEN)
    failed = row(migrated_registry, function_id)
    assert (failed.state, failed.state_reason, failed.state_reason_code) == ("Failed", *BROKEN)
    assert (failed.last_update_status, failed.last_update_status_reason_code) == (
        "Failed",
        "InvalidZipFileException",
    )


def test_settle__an_update_that_fails_leaves_the_function_active(
    function_service, migrated_registry, new_caller
):
    function_id = unsettled(
        function_service, migrated_registry, new_caller(), "misupdated", states.updating()
    )
    with migrated_registry.db.write() as session:
        states.settle(session, Function, function_id, "prepared-revision", error=BROKEN)
    after = row(migrated_registry, function_id)
    assert (after.state, after.last_update_status) == ("Active", "Failed")
    assert after.last_update_status_reason == BROKEN[0]
