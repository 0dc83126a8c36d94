"""Functions in a real browser: the list, a function's configuration, versions, aliases with
their weights and layers, and a test invoke with its result, log tail and REPORT figures."""

from __future__ import annotations

from playwright.sync_api import expect

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

    expect(page.get_by_role("heading", name="Function greeter")).to_be_visible()
    page.wait_for_load_state()
    versions = page.get_by_test_id("function-version").locator("td:first-child").all_inner_texts()
    assert versions == ["$LATEST", "1", "2"]
    alias = page.get_by_test_id("alias").inner_text()
    assert "version 1 (75%)" in alias and "version 2 (25%)" in alias
    page.get_by_test_id("function-layer").get_by_role("link", name="helpers:1").click()
    expect(page.get_by_role("heading", name="helpers version 1")).to_be_visible()


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
    page.wait_for_load_state()
    assert page.get_by_test_id("invoke-result").count() == 0


def test_another_accounts_function__is_not_found(page, strata_server, account, lam):
    create(lam, "secretive")
    sign_in(page, strata_server, strata_server.new_account())

    response = page.goto(f"{strata_server.url}/console/functions/secretive")
    assert response.status == 404
    page.goto(f"{strata_server.url}/console/functions")
    page.wait_for_load_state()
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
    pandas = make_zip(
        {
            "python/pandas-2.2.0.dist-info/METADATA": (
                "Metadata-Version: 2.1\nName: pandas\nVersion: 2.2.0\n"
                "Requires-Dist: numpy>=1.26.0\n"
            )
        }
    )
    arns = [
        lam.publish_layer_version(LayerName=name, Content={"ZipFile": content})["LayerVersionArn"]
        for name, content in (
            ("pandas", pandas),
            ("numpy-new", _numpy_layer("1.26.4")),
            ("numpy-old", _numpy_layer("1.24.0")),
        )
    ]
    create(lam, "stacked", Layers=arns)
    sign_in(page, strata_server, account, "/console/functions/stacked")

    page.get_by_role("link", name="See how they overlay").click()

    page.wait_for_load_state()
    shadowed = page.get_by_test_id("shadowed").all_inner_texts()
    assert any(
        "python/numpy/__init__.py" in row and row.index("numpy-new") < row.index("numpy-old")
        for row in shadowed
    )
    conflict = page.get_by_test_id("conflict").inner_text()
    assert "numpy" in conflict and "1.24.0" in conflict and "1.26.4" in conflict
    unmet = page.get_by_test_id("unmet").inner_text()
    assert "pandas 2.2.0" in unmet and "numpy>=1.26.0" in unmet and "has 1.24.0" in unmet
    tree = page.get_by_test_id("overlay-tree")
    tree.locator("summary", has_text="python/").click()  # opt/ and task/ start open
    tree.locator("summary", has_text="numpy/").click()
    init = tree.get_by_test_id("overlay-entry").filter(has_text="__init__.py")
    assert init.locator(".tag").inner_text() == "numpy-old"
    only_new = tree.get_by_test_id("overlay-entry").filter(has_text="only_in_1_26_4.py")
    assert only_new.locator(".tag").inner_text() == "numpy-new"
    app = tree.get_by_test_id("overlay-entry").filter(has_text="app.py")
    assert app.locator(".tag").inner_text() == "function"


def test_overlay__of_a_large_bundle_is_browsed_a_folder_per_page(page, strata_server, account, lam):
    files = {f"python/pkg{p}/m{m}.py": "X = 1\n" for p in range(12) for m in range(100)}
    big = lam.publish_layer_version(LayerName="big", Content={"ZipFile": make_zip(files)})
    over = make_zip({"python/pkg3/m7.py": "X = 2\n"})
    small = lam.publish_layer_version(LayerName="over", Content={"ZipFile": over})
    create(lam, "bundled", Layers=[big["LayerVersionArn"], small["LayerVersionArn"]])
    sign_in(page, strata_server, account, "/console/functions/bundled/overlay")

    page.wait_for_load_state()
    assert page.get_by_test_id("overlay-tree").count() == 0
    page.get_by_test_id("overlay-level").get_by_role("link", name="opt/").click()
    page.get_by_test_id("overlay-level").get_by_role("link", name="python/").click()
    page.get_by_role("link", name="pkg3/").click()
    page.wait_for_load_state()
    entries = page.get_by_test_id("overlay-entry")
    assert entries.count() == 100
    assert entries.filter(has_text="m7.py").locator(".tag").inner_text() == "over"
    assert entries.filter(has_text="m8.py").locator(".tag").inner_text() == "big"
    expect(page.get_by_role("heading", name="/opt/python/pkg3")).to_be_visible()
    missing = page.goto(f"{strata_server.url}/console/functions/bundled/overlay/files?dir=nope")
    assert missing.status == 404
