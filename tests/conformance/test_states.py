"""Function states as AWS Lambda moves through them: Pending while a function's bundle is
prepared, then Active, or Failed with the reason; an update is InProgress, then Successful. boto3's
waiters see the transitions; Invoke and further changes answer as AWS does meanwhile.

A function is held Pending or InProgress by writing the state a change leaves into its row, as a
process that died right after committing the change would leave it: no process is preparing it,
so only the sweep (which takes rows left for a while) settles it, and the test has time to call.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import WaiterError
from sqlalchemy import select, update

from registry.functions import states
from registry.models import Function
from tests.conformance.expect import assert_error
from tests.support.functions import FAST_WAIT, create, handler_zip, invoke, wait_updated
from tests.support.zips import layer_zip

BUSY = "The operation cannot be performed at this time."
# Long enough for a test's calls, short enough that the sweep settles the row within seconds.
STALE_SECONDS = 10.0
HELD_FOR = 7.0


def hold(strata_server, name: str, columns: dict) -> None:
    """Leave the newest function called `name` as an unfinished change leaves it, as if made
    HELD_FOR seconds before the sweep's limit."""
    changed = datetime.now(timezone.utc) - timedelta(seconds=STALE_SECONDS - HELD_FOR)
    with strata_server.db.write() as session:
        function_id = session.scalar(
            select(Function.id).where(Function.name == name).order_by(Function.id.desc()).limit(1)
        )
        session.execute(
            update(Function)
            .where(Function.id == function_id)
            .values(last_modified=changed, **columns)
        )


def test_create_function__pending_with_aws_reason_then_active_with_a_new_revision(lam):
    created = lam.create_function(
        FunctionName="becoming",
        Runtime="python3.11",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="app.handler",
        Code={"ZipFile": handler_zip("def handler(e, c):\n    return 1\n")},
    )
    assert (created["State"], created["StateReason"], created["StateReasonCode"]) == (
        "Pending",
        "The function is being created.",
        "Creating",
    )
    assert "LastUpdateStatus" not in created
    lam.get_waiter("function_active_v2").wait(FunctionName="becoming", WaiterConfig=FAST_WAIT)
    active = lam.get_function_configuration(FunctionName="becoming")
    assert (active["State"], active["LastUpdateStatus"]) == ("Active", "Successful")
    assert not {"StateReason", "StateReasonCode", "LastUpdateStatusReason"} & active.keys()
    assert active["RevisionId"] != created["RevisionId"]  # as on Lambda


def test_update_function_configuration__in_progress_with_aws_reason_then_successful(lam):
    create(lam, "updating")
    answer = lam.update_function_configuration(FunctionName="updating", MemorySize=256)
    assert (
        answer["State"],
        answer["LastUpdateStatus"],
        answer["LastUpdateStatusReason"],
        answer["LastUpdateStatusReasonCode"],
    ) == ("Active", "InProgress", "The function is being created.", "Creating")
    lam.get_waiter("function_updated_v2").wait(FunctionName="updating", WaiterConfig=FAST_WAIT)
    settled = lam.get_function_configuration(FunctionName="updating")
    assert (settled["LastUpdateStatus"], settled["MemorySize"]) == ("Successful", 256)
    assert "LastUpdateStatusReason" not in settled


def test_update_function_code__in_progress_then_successful_running_the_new_code(lam):
    create(lam, "recoded")
    answer = lam.update_function_code(
        FunctionName="recoded", ZipFile=handler_zip("def handler(e, c):\n    return 'new'\n")
    )
    assert (answer["State"], answer["LastUpdateStatus"]) == ("Active", "InProgress")
    wait_updated(lam, "recoded")
    assert invoke(lam, "recoded")[1] == "new"


def test_invoke__a_pending_function_is_refused_until_it_is_active(lam, strata_server):
    create(lam, "held-pending")
    hold(strata_server, "held-pending", states.creating())
    pending = f"{BUSY} The function is currently in the following state: Pending"
    assert_error(
        lambda: lam.invoke(FunctionName="held-pending", Payload=b"{}"),
        code="ResourceConflictException",
        status=409,
        message=pending,
        Type="User",
    )
    assert_error(
        lambda: lam.invoke(FunctionName="held-pending", InvocationType="Event", Payload=b"{}"),
        code="ResourceConflictException",
        status=409,
        message=pending,
        Type="User",
    )
    assert_error(
        lambda: lam.update_function_configuration(FunctionName="held-pending", Timeout=9),
        code="ResourceConflictException",
        status=409,
        message=pending,
        Type="User",
    )
    shown = lam.get_function_configuration(FunctionName="held-pending")
    assert (shown["State"], shown["StateReasonCode"]) == ("Pending", "Creating")
    # Nobody prepares it now; the sweep of a live process takes it over and settles it.
    lam.get_waiter("function_active_v2").wait(
        FunctionName="held-pending", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )
    assert invoke(lam, "held-pending")[0]["StatusCode"] == 200


def test_update__refused_while_an_update_is_in_progress_but_invoke_runs(lam, strata_server):
    arn = create(lam, "held-updating")["FunctionArn"]
    hold(strata_server, "held-updating", states.updating())
    in_progress = f"{BUSY} An update is in progress for resource: {arn}"
    for call in (
        lambda: lam.update_function_configuration(FunctionName="held-updating", Timeout=9),
        lambda: lam.update_function_code(FunctionName="held-updating", ZipFile=handler_zip("x=1")),
        lambda: lam.publish_version(FunctionName="held-updating"),
    ):
        assert_error(call, code="ResourceConflictException", status=409, message=in_progress)
    assert invoke(lam, "held-updating")[0]["StatusCode"] == 200
    lam.get_waiter("function_updated_v2").wait(
        FunctionName="held-updating", WaiterConfig={"Delay": 0.2, "MaxAttempts": 150}
    )
    assert (
        lam.update_function_configuration(FunctionName="held-updating", Timeout=9)["Timeout"] == 9
    )


def test_create_function__failed_when_its_bundle_cannot_be_built(lam, strata_server):
    # A layer nobody has used, whose blob then goes missing from the store.
    layer = lam.publish_layer_version(
        LayerName="vanishing", Content={"ZipFile": layer_zip("gone", "X = 'unique to this test'\n")}
    )
    digest = base64.b64decode(layer["Content"]["CodeSha256"]).hex()
    strata_server.store().delete(digest)
    lam.create_function(
        FunctionName="unbuildable",
        Runtime="python3.11",
        Role="arn:aws:iam::123456789012:role/r",
        Handler="app.handler",
        Code={"ZipFile": handler_zip("def handler(e, c):\n    return 1\n")},
        Layers=[layer["LayerVersionArn"]],
    )
    with pytest.raises(WaiterError, match="failure state"):
        lam.get_waiter("function_active_v2").wait(
            FunctionName="unbuildable", WaiterConfig=FAST_WAIT
        )
    failed = lam.get_function_configuration(FunctionName="unbuildable")
    assert (failed["State"], failed["StateReasonCode"], failed["LastUpdateStatus"]) == (
        "Failed",
        "InvalidZipFileException",
        "Failed",
    )
    assert failed["StateReason"] == failed["LastUpdateStatusReason"]
    assert failed["LastUpdateStatusReasonCode"] == "InvalidZipFileException"
    assert_error(
        lambda: lam.invoke(FunctionName="unbuildable", Payload=b"{}"),
        code="ResourceConflictException",
        status=409,
        message=f"{BUSY} The function is currently in the following state: Failed",
    )
    # Fixed by an update: Active again.
    lam.update_function_configuration(FunctionName="unbuildable", Layers=[])
    wait_updated(lam, "unbuildable")
    fixed = lam.get_function_configuration(FunctionName="unbuildable")
    assert (fixed["State"], fixed["LastUpdateStatus"]) == ("Active", "Successful")
    assert invoke(lam, "unbuildable")[1] == 1


def test_publish_version__pending_then_active_for_the_published_version_active_waiter(lam):
    create(lam, "published")
    answer = lam.publish_version(FunctionName="published")
    assert (answer["Version"], answer["State"], answer["StateReasonCode"]) == (
        "1",
        "Pending",
        "Creating",
    )
    lam.get_waiter("published_version_active").wait(
        FunctionName="published", Qualifier="1", WaiterConfig=FAST_WAIT
    )
    version = lam.get_function_configuration(FunctionName="published", Qualifier="1")
    assert (version["State"], version["LastUpdateStatus"]) == ("Active", "Successful")
    assert invoke(lam, "published", Qualifier="1")[1] == {"echo": {}, "version": "1"}
