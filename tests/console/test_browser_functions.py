"""Functions in a real browser: the list, a function's configuration, versions, aliases with
their weights and layers, and a test invoke with its result, log tail and REPORT figures."""

from __future__ import annotations

from tests.console.browser import sign_in
from tests.support.functions import create, handler_zip, publish, update_code
from tests.support.zips import layer_zip, make_zip

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


def _numpy_layer(version: str) -> bytes:
    return make_zip(
        {
            f"python/numpy-{version}.dist-info/METADATA": (
                f"Metadata-Version: 2.1\nName: numpy\nVersion: {version}\n"
            ),
            "python/numpy/__init__.py": f"__version__ = {version!r}\n",
            f"python/only_in_{version.replace('.', '_')}.py": "",
        }
    )


def test_overlay__shows_each_files_layer_the_shadowed_paths_and_package_conflicts(
    page, strata_server, account, lam
):
    old = lam.publish_layer_version(
        LayerName="numpy-old", Content={"ZipFile": _numpy_layer("1.24.0")}
    )
    new = lam.publish_layer_version(
        LayerName="numpy-new", Content={"ZipFile": _numpy_layer("1.26.4")}
    )
    create(lam, "stacked", Layers=[old["LayerVersionArn"], new["LayerVersionArn"]])
    sign_in(page, strata_server, account, "/console/functions/stacked")

    page.get_by_role("link", name="See how they overlay").click()

    shadowed = page.get_by_test_id("shadowed").all_inner_texts()
    assert any(
        "python/numpy/__init__.py" in row and "numpy-old" in row and "numpy-new" in row
        for row in shadowed
    )
    conflict = page.get_by_test_id("conflict").inner_text()
    assert "numpy" in conflict and "1.24.0" in conflict and "1.26.4" in conflict
    tree = page.get_by_test_id("overlay-tree")
    tree.locator("summary", has_text="python/").click()  # opt/ and task/ start open
    tree.locator("summary", has_text="numpy/").click()
    init = tree.get_by_test_id("overlay-entry").filter(has_text="__init__.py")
    assert init.locator(".tag").inner_text() == "numpy-new"
    only_old = tree.get_by_test_id("overlay-entry").filter(has_text="only_in_1_24_0.py")
    assert only_old.locator(".tag").inner_text() == "numpy-old"
    app = tree.get_by_test_id("overlay-entry").filter(has_text="app.py")
    assert app.locator(".tag").inner_text() == "function"
