"""Functions in a real browser: the list, a function's configuration, versions, aliases with
their weights and layers, and a test invoke with its result, log tail and REPORT figures."""

from __future__ import annotations

from tests.console.browser import sign_in
from tests.support.functions import create, handler_zip, publish, update_code
from tests.support.zips import layer_zip

FAILING = handler_zip(
    """
    def handler(event, context):
        print("about to fail")
        raise ValueError("no such thing")
    """
)


def test_function_page__shows_configuration_versions_aliases_and_layers(
    page, strata_server, account, lam
):
    layer = lam.publish_layer_version(LayerName="helpers", Content={"ZipFile": layer_zip()})
    create(lam, "greeter", Layers=[layer["LayerVersionArn"]], MemorySize=256)
    publish(lam, FunctionName="greeter")
    update_code(lam, FunctionName="greeter", ZipFile=FAILING)
    publish(lam, FunctionName="greeter", Description="second")
    lam.create_alias(
        FunctionName="greeter",
        Name="live",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.25}},
    )
    sign_in(page, strata_server, account)

    page.get_by_role("link", name="Functions").click()
    row = page.get_by_test_id("function-row")
    assert "python3.11" in row.inner_text() and "256 MB" in row.inner_text()
    row.get_by_role("link", name="greeter").click()

    assert page.get_by_role("heading", name="Function greeter").is_visible()
    versions = page.get_by_test_id("function-version").locator("td:first-child").all_inner_texts()
    assert versions == ["$LATEST", "1", "2"]
    alias = page.get_by_test_id("alias").inner_text()
    assert "version 1 (75%)" in alias and "version 2 (25%)" in alias
    page.get_by_test_id("function-layer").get_by_role("link", name="helpers:1").click()
    assert page.get_by_role("heading", name="helpers version 1").is_visible()


def test_test_invoke__shows_the_result_the_log_tail_and_the_report(
    page, strata_server, account, lam
):
    create(lam, "echo")
    sign_in(page, strata_server, account, "/console/functions/echo")

    page.get_by_label("Event (JSON)").fill('{"greeting": "hi from the console"}')
    page.get_by_role("button", name="Invoke").click()

    result = page.get_by_test_id("invoke-result").inner_text()
    assert '"greeting": "hi from the console"' in result
    assert '"version": "$LATEST"' in result
    report = page.get_by_test_id("invoke-report").inner_text()
    assert "Billed duration" in report and " ms" in report and "128 MB" in report
    assert "REPORT RequestId:" in page.get_by_test_id("invoke-logs").inner_text()


def test_test_invoke__of_a_failing_function_shows_its_error_and_logs(
    page, strata_server, account, lam
):
    create(lam, "failing", code=FAILING)
    sign_in(page, strata_server, account, "/console/functions/failing")

    page.get_by_role("button", name="Invoke").click()

    assert "Function error: Unhandled" in page.locator(".result").inner_text()
    assert "no such thing" in page.get_by_test_id("invoke-result").inner_text()
    assert "about to fail" in page.get_by_test_id("invoke-logs").inner_text()


def test_test_invoke__refuses_a_payload_that_is_not_json(page, strata_server, account, lam):
    create(lam, "echo")
    sign_in(page, strata_server, account, "/console/functions/echo")

    page.get_by_label("Event (JSON)").fill("{not json")
    page.get_by_role("button", name="Invoke").click()

    assert "not JSON" in page.get_by_role("alert").inner_text()
    assert page.get_by_test_id("invoke-result").count() == 0


def test_another_accounts_function__is_not_found(page, strata_server, account, lam):
    create(lam, "secretive")
    sign_in(page, strata_server, strata_server.new_account())

    response = page.goto(f"{strata_server.url}/console/functions/secretive")
    assert response.status == 404
    page.goto(f"{strata_server.url}/console/functions")
    assert page.get_by_test_id("function-row").count() == 0
