"""A function's recent invocations read back from its log group: figures from REPORT, the
version from START, the outcome from the lines a failure leaves, newest first."""

from __future__ import annotations

from registry.executor.outcomes import invocation_logs
from registry.executor.report import Report
from registry.logs.events import split
from registry.logs.invocations import recent_invocations
from registry.logs.store import Batch

GROUP = "/aws/lambda/orders"


def logged(request_id, *, version="$LATEST", during="", before="", duration=12.5, init=None):
    report = Report(request_id, duration, 256, 61, init_duration_ms=init)
    return invocation_logs(request_id, version, report, before=before, during=during)


def store(log_store, account, stream, texts, start=1_000.0):
    batches = [
        Batch(account, GROUP, stream, split(text, start + i, start + i + 0.5))
        for i, text in enumerate(texts)
    ]
    log_store.append(batches)


def test_recent_invocations__figures_from_report_and_version_from_start(log_store, new_account):
    account = new_account()
    store(log_store, account, "s", [logged("r1", version="3", during="hello\n", init=80.25)])

    [seen] = recent_invocations(log_store.db, account, "orders")

    assert (seen.request_id, seen.version, seen.outcome) == ("r1", "3", "success")
    assert (seen.duration_ms, seen.billed_duration_ms, seen.init_duration_ms) == (12.5, 13, 80.25)
    assert (seen.memory_size_mb, seen.max_memory_used_mb) == (256, 61)
    assert seen.ended_ms == 1_000_500


def test_recent_invocations__outcomes_from_the_failure_lines(log_store, new_account):
    account = new_account()
    texts = [
        logged("ok", during="[INFO]\tall fine\n"),
        logged("py", during="[ERROR] ValueError: no such thing\nTraceback (most recent...):\n"),
        logged("node", during="2026-01-01T00:00:00.000Z\tnode\tERROR\tInvoke Error \t{}\n"),
        logged("slow", during="2026-01-01T00:00:00.000Z slow Task timed out after 3.00 seconds\n"),
        logged("big", during="RequestId: big Error: Runtime exited with error: signal: killed\n"
               "Runtime.OutOfMemory\n"),
        logged("exit", during="RequestId: exit Error: Runtime exited with error: exit status 1\n"
               "Runtime.ExitError\n"),
    ]  # fmt: skip
    store(log_store, account, "s", texts)

    found = {i.request_id: i.outcome for i in recent_invocations(log_store.db, account, "orders")}

    assert found == {
        "ok": "success", "py": "error", "node": "error", "slow": "timeout",
        "big": "out of memory", "exit": "error",
    }  # fmt: skip


def test_recent_invocations__an_error_belongs_to_its_own_invocation_and_stream(
    log_store, new_account
):
    account = new_account()
    # An init error is logged before START; the stream's next invocation starts clean.
    store(log_store, account, "a", [logged("a1", before="[ERROR] ImportError: x\n"), logged("a2")])
    store(log_store, account, "b", [logged("b1")], start=1_000.2)

    found = recent_invocations(log_store.db, account, "orders")

    assert [(i.request_id, i.outcome) for i in found] == [
        ("a2", "success"), ("b1", "success"), ("a1", "error"),
    ]  # fmt: skip


def test_recent_invocations__newest_first_up_to_the_limit(log_store, new_account):
    account = new_account()
    store(log_store, account, "s", [logged(f"r{i}") for i in range(8)])

    found = recent_invocations(log_store.db, account, "orders", limit=5)

    assert [i.request_id for i in found] == ["r7", "r6", "r5", "r4", "r3"]


def test_recent_invocations__another_accounts_function_of_that_name_has_none(
    log_store, new_account
):
    owner, other = new_account(), new_account()
    store(log_store, owner, "s", [logged("r1")])

    assert recent_invocations(log_store.db, other, "orders") == []
    assert recent_invocations(log_store.db, owner, "missing") == []


def test_recent_invocations__a_long_one_keeps_its_start_however_many_ended_meanwhile(
    log_store, new_account
):
    account = new_account()
    long = logged("long", version="7", during="[ERROR] Boom: late\n", duration=30_000.0)
    log_store.append([Batch(account, GROUP, "a", split(long, 1_000.0, 1_030.0))])
    store(log_store, account, "b", [logged(f"short{i}") for i in range(20)], start=1_005.0)

    found = recent_invocations(log_store.db, account, "orders", limit=5)

    assert (found[0].request_id, found[0].version, found[0].outcome) == ("long", "7", "error")
    assert [i.request_id for i in found[1:]] == ["short19", "short18", "short17", "short16"]
