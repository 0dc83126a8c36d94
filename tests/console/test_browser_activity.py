"""Activity in a real browser: a function's recent invocations with their figures and outcomes,
its duration and errors as an SVG chart with a table alternative, and the account's usage that
matches the invocations; another account sees none of it."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.console.browser import sign_in
from tests.console.web import Visitor
from tests.support.functions import create, handler_zip

FAILS_ON_DEMAND = handler_zip(
    """
    def handler(event, context):
        if event.get("fail"):
            raise ValueError("asked to fail")
        return {"ok": True}
    """
)


def _invoke(lam, name: str, *events: dict) -> None:
    for event in events:
        lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())


def _activity_rows(page, url: str, count: int):
    """The invocation rows once the logs of `count` invocations are stored (the writer stores
    them off the invocation's path, within a second or so)."""
    rows = page.get_by_test_id("invocation")
    for _ in range(40):
        page.goto(url)
        if rows.count() >= count:
            break
        page.wait_for_timeout(250)
    expect(rows).to_have_count(count)
    return rows


def _reloaded_until(page, done) -> None:
    """Reloads the page until `done(page)` holds: the usage counts each worker keeps are added
    to the database about once a second, apart from the logs the rows come from."""
    for _ in range(40):
        if done(page):
            return
        page.wait_for_timeout(250)
        page.reload()


def test_activity__lists_recent_invocations_and_charts_duration_and_errors(
    page, strata_server, account, lam
):
    create(lam, "busy", code=FAILS_ON_DEMAND, MemorySize=256)
    _invoke(lam, "busy", {}, {}, {}, {"fail": True})
    sign_in(page, strata_server, account, "/console/functions/busy")

    page.get_by_role("link", name=re.compile("^Activity")).click()
    expect(page.get_by_role("heading", name="Activity of busy")).to_be_visible()
    rows = _activity_rows(page, page.url, 4)

    outcomes = rows.get_by_test_id("outcome").all_inner_texts()
    assert outcomes == ["error", "success", "success", "success"]  # newest first
    first = rows.first.inner_text()
    assert "$LATEST" in first and " ms" in first and "of 256 MB" in first
    chart = page.get_by_test_id("activity-chart")
    summary = chart.locator("desc")
    _reloaded_until(page, lambda p: "4 invocations, 1 errors" in summary.text_content())
    assert chart.evaluate("e => e.tagName") == "svg"
    assert "Duration and errors of busy" in chart.locator("title").first.text_content()
    assert "4 invocations, 1 errors" in chart.locator("desc").text_content()
    expect(page.get_by_test_id("average-line")).to_have_count(1)
    expect(page.get_by_test_id("error-bar")).to_have_count(1)

    page.get_by_text("The chart's figures as a table").click()
    periods = page.get_by_test_id("activity-period")
    cells = [row.locator("td").all_inner_texts() for row in periods.all()]
    assert sum(int(c[1]) for c in cells) == 4 and sum(int(c[2]) for c in cells) == 1

    page.get_by_role("link", name="Last day").click()
    expect(
        page.get_by_role("heading", name="Duration and errors over the last day")
    ).to_be_visible()
    expect(page.get_by_test_id("error-bar")).to_have_count(1)


def test_account_page__shows_usage_matching_the_invocations(page, strata_server, account, lam):
    create(lam, "counted", MemorySize=512)
    _invoke(lam, "counted", {}, {}, {})
    sign_in(page, strata_server, account, "/console/functions/counted/activity")
    rows = _activity_rows(page, page.url, 3)
    billed = sum(int(t.split()[0]) for t in rows.locator("td:nth-child(4)").all_inner_texts())

    page.get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name=f"Account {account.account_id}")).to_be_visible()
    day = page.get_by_test_id("usage-day")
    invocations = day.get_by_test_id("usage-invocations")
    stored = day.get_by_test_id("usage-stored")
    code_size = lam.get_function(FunctionName="counted")["Configuration"]["CodeSize"]
    _reloaded_until(
        page,
        lambda p: (
            day.count() == 1
            and invocations.inner_text() == "3"
            and stored.get_attribute("title") == f"{code_size:,} bytes"
        ),
    )
    expect(day).to_have_count(1)
    assert invocations.inner_text() == "3"
    assert day.get_by_test_id("usage-billed").inner_text() == f"{billed:,} ms"
    gb_seconds = float(day.get_by_test_id("usage-gb-seconds").inner_text())
    assert abs(gb_seconds - billed / 1000 * 0.5) < 1e-6
    assert int(day.get_by_test_id("usage-requests").inner_text()) >= 4  # create + 3 invokes
    assert page.get_by_test_id("stored-bytes").inner_text().strip()


def test_another_accounts_function_activity__answers_404(strata_server, account, lam):
    create(lam, "private-work")
    _invoke(lam, "private-work", {})
    stranger = Visitor(strata_server.url)
    other = strata_server.new_account()
    assert stranger.sign_in(other.access_key_id, other.secret_access_key).status_code == 303

    for path in (
        "/console/functions/private-work/activity",
        "/console/functions/private-work/activity?range=day",
    ):
        assert stranger.get(path).status_code == 404, path
    # The stranger's usage page counts none of the owner's invocations.
    assert 'data-testid="usage-day"' not in stranger.get("/console/account").text
