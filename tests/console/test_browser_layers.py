"""Layers in a real browser: the list and its filters, a version's facts, file tree and
download, granting and revoking access, and what another account sees."""

from __future__ import annotations

import hashlib
import io
import json
import stat
import zipfile
from importlib import metadata

import pytest
import requests
from playwright.sync_api import expect

from tests.console.browser import sign_in
from tests.inventory.real_packages import layer_zip as real_layer_zip
from tests.inventory.real_packages import node_files, python_files
from tests.support.zips import layer_zip, make_zip


def _tree_zip() -> bytes:
    """python/pkg/__init__.py, python/pkg/data/table.csv, an executable bin/tool and a symlink."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, data: bytes, mode: int) -> None:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = mode << 16
            archive.writestr(info, data)

        add("python/pkg/__init__.py", b"VALUE = 1\n", stat.S_IFREG | 0o644)
        add("python/pkg/data/table.csv", b"a,b\n" * 300, stat.S_IFREG | 0o644)
        add("bin/tool", b"#!/bin/sh\necho tool\n", stat.S_IFREG | 0o755)
        add("bin/tool-latest", b"tool", stat.S_IFLNK | 0o777)
    return buffer.getvalue()


def test_layers_list__filters_by_runtime_architecture_and_name(page, strata_server, account, lam):
    for name, runtimes, architectures in (
        ("numpy-py311", ["python3.11"], ["x86_64"]),
        ("numpy-py312-arm", ["python3.12"], ["arm64"]),
        ("left-pad", ["nodejs20.x"], ["x86_64", "arm64"]),
    ):
        lam.publish_layer_version(
            LayerName=name,
            Content={"ZipFile": layer_zip()},
            CompatibleRuntimes=runtimes,
            CompatibleArchitectures=architectures,
        )
    sign_in(page, strata_server, account)

    def listed() -> list[str]:
        page.wait_for_load_state()
        return sorted(page.get_by_test_id("layer-row").locator("td:first-child").all_inner_texts())

    assert listed() == ["left-pad", "numpy-py311", "numpy-py312-arm"]
    page.get_by_label("Architecture").select_option("arm64")
    page.get_by_role("button", name="Filter").click()
    assert listed() == ["left-pad", "numpy-py312-arm"]
    page.get_by_label("Runtime").select_option("python3.12")
    page.get_by_role("button", name="Filter").click()
    assert listed() == ["numpy-py312-arm"]
    page.get_by_label("Architecture").select_option("")
    page.get_by_label("Runtime").select_option("")
    page.get_by_label("Name contains").fill("NUMPY")
    page.get_by_role("button", name="Filter").click()
    assert listed() == ["numpy-py311", "numpy-py312-arm"]


def test_version_page__shows_its_facts_a_collapsible_file_tree_and_a_download(
    page, strata_server, account, lam
):
    content = _tree_zip()
    published = lam.publish_layer_version(
        LayerName="tools",
        Content={"ZipFile": content},
        Description="command-line tools",
        LicenseInfo="MIT",
        CompatibleRuntimes=["python3.11"],
    )
    sign_in(page, strata_server, account)
    page.get_by_role("link", name="tools").first.click()
    expect(page.get_by_role("heading", name="Layer tools")).to_be_visible()
    assert "MIT" in page.get_by_test_id("version-row").inner_text()
    page.get_by_test_id("version-row").get_by_role("link", name="1").click()

    assert page.get_by_test_id("sha256").inner_text() == published["Content"]["CodeSha256"]
    assert page.get_by_test_id("sha256-hex").inner_text() == hashlib.sha256(content).hexdigest()
    tree = page.get_by_test_id("file-tree")
    # Top-level folders start open, deeper ones closed.
    expect(tree.get_by_text("__init__.py")).to_be_hidden()
    expect(tree.get_by_text("tool-latest")).to_be_visible()
    assert "symlink" in tree.locator("li", has_text="tool-latest").last.inner_text()
    assert "→ tool" in tree.locator("li", has_text="tool-latest").last.inner_text()
    assert "755" in tree.locator("li.file", has_text="tool").first.inner_text()
    tree.locator("summary", has_text="pkg/").click()
    expect(tree.get_by_text("__init__.py")).to_be_visible()
    tree.locator("summary", has_text="data/").click()
    assert "1.2 kB" in tree.locator("li", has_text="table.csv").last.inner_text()

    href = page.get_by_role("link", name="Download .zip").get_attribute("href")
    downloaded = requests.get(href, timeout=30).content
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(content).digest()


def test_version_page__is_readable_without_javascript_and_at_phone_width(
    chromium, strata_server, account, lam
):
    lam.publish_layer_version(LayerName="tools", Content={"ZipFile": _tree_zip()})
    context = chromium.new_context(
        java_script_enabled=False, viewport={"width": 375, "height": 700}
    )
    try:
        page = context.new_page()
        sign_in(page, strata_server, account, f"/console/layers/{account.account_id}/tools/1")
        tree = page.get_by_test_id("file-tree")
        expect(tree.get_by_text("__init__.py")).to_be_hidden()
        tree.locator("summary", has_text="pkg/").click()  # <details> opens without script
        expect(tree.get_by_text("__init__.py")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        context.close()


def test_grants__added_and_removed_with_confirmation(page, strata_server, account, lam):
    lam.publish_layer_version(LayerName="shared", Content={"ZipFile": layer_zip()})
    sign_in(page, strata_server, account, f"/console/layers/{account.account_id}/shared/1")
    expect(page.get_by_text("Only this account.")).to_be_visible()

    page.get_by_label("an account").check()
    page.get_by_label("Account id").fill("123412341234")
    page.get_by_role("button", name="Grant access").click()
    assert page.get_by_role("status").inner_text() == "Access granted."
    assert "account 123412341234" in page.get_by_test_id("grant").inner_text()

    page.get_by_label("everyone (public)").check()
    page.get_by_label("Statement id (optional)").fill("world")
    page.get_by_role("button", name="Grant access").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("grant").count() == 2
    policy = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)["Policy"]
    assert '"Sid":"world"' in policy and "123412341234" in policy

    page.get_by_role("link", name="Remove access of everyone (public)").click()
    expect(page.get_by_role("heading", name="Remove access?")).to_be_visible()
    page.get_by_role("button", name="Remove access").click()
    assert page.get_by_role("status").inner_text() == "Access removed."
    page.wait_for_load_state()
    assert page.get_by_test_id("grant").count() == 1
    policy = lam.get_layer_version_policy(LayerName="shared", VersionNumber=1)["Policy"]
    assert '"Sid":"world"' not in policy


def test_delete__asks_for_confirmation_first(page, strata_server, account, lam):
    lam.publish_layer_version(LayerName="doomed", Content={"ZipFile": layer_zip()})
    lam.publish_layer_version(LayerName="doomed", Content={"ZipFile": layer_zip()})
    sign_in(page, strata_server, account, f"/console/layers/{account.account_id}/doomed/2")

    page.get_by_role("link", name="Delete version 2…").click()
    page.get_by_role("link", name="Cancel").click()
    assert lam.get_layer_version(LayerName="doomed", VersionNumber=2)
    page.get_by_role("link", name="Delete version 2…").click()
    page.get_by_role("button", name="Delete version 2").click()

    expect(page.get_by_role("heading", name="Layers")).to_be_visible()
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName="doomed", VersionNumber=2)
    assert lam.get_layer_version(LayerName="doomed", VersionNumber=1)


def test_another_account__sees_none_of_the_private_layers(page, strata_server, account, lam):
    lam.publish_layer_version(LayerName="private-stuff", Content={"ZipFile": layer_zip()})
    lam.publish_layer_version(LayerName="for-friends", Content={"ZipFile": layer_zip()})
    stranger = strata_server.new_account()
    lam.add_layer_version_permission(
        LayerName="for-friends",
        VersionNumber=1,
        StatementId="stranger",
        Action="lambda:GetLayerVersion",
        Principal=stranger.account_id,
    )
    sign_in(page, strata_server, stranger)

    page.wait_for_load_state()
    rows = page.get_by_test_id("layer-row").all_inner_texts()
    assert len(rows) == 1 and "for-friends" in rows[0] and "shared" in rows[0]
    for name in ("private-stuff", "no-such-layer"):
        response = page.goto(f"{strata_server.url}/console/layers/{account.account_id}/{name}/1")
        assert response.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    response = page.goto(f"{strata_server.url}/console/layers/{account.account_id}/for-friends/1")
    assert response.status == 200
    page.wait_for_load_state()
    assert page.get_by_role("button", name="Grant access").count() == 0


def test_version_page__lists_its_packages_and_offers_the_sbom(page, strata_server, account, lam):
    files = {**python_files(["click", "rich"]), **node_files(["semver"])}
    lam.publish_layer_version(LayerName="deps", Content={"ZipFile": real_layer_zip(files)})
    sign_in(page, strata_server, account, f"/console/layers/{account.account_id}/deps/1")

    page.wait_for_load_state()
    rows = page.get_by_test_id("package").all_inner_texts()
    assert sorted(row.split("\t")[0] for row in rows) == ["click", "rich", "semver"]
    rich = page.get_by_test_id("package").filter(has_text="rich")
    assert metadata.version("rich") in rich.inner_text()
    rich.locator("summary").click()
    assert "pygments" in rich.locator("details").inner_text()

    with page.expect_download() as download:
        page.get_by_role("link", name="Download SBOM (CycloneDX JSON)").click()
    document = json.loads(download.value.path().read_text())
    assert download.value.suggested_filename == "deps-1.cdx.json"
    assert sorted(c["name"] for c in document["components"]) == ["click", "rich", "semver"]


def test_a_large_tree__is_browsed_a_folder_per_page(page, strata_server, account, lam):
    files = {f"python/pkg{p}/m{m}.py": "X = 1\n" for p in range(12) for m in range(100)}
    files["python/pkg3/deeper/last.txt"] = "end"
    lam.publish_layer_version(LayerName="big", Content={"ZipFile": make_zip(files)})
    sign_in(page, strata_server, account, f"/console/layers/{account.account_id}/big/1")

    page.wait_for_load_state()
    assert page.get_by_test_id("file-tree").count() == 0
    page.get_by_test_id("folder-level").get_by_role("link", name="python/").click()
    page.wait_for_load_state()
    links = page.get_by_test_id("folder-level").get_by_role("link").all_inner_texts()
    assert links == [f"pkg{p}/" for p in sorted(range(12), key=str)]
    page.get_by_role("link", name="pkg3/").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("file-entry").count() == 100
    page.get_by_role("link", name="deeper/").click()
    assert page.get_by_test_id("file-entry").inner_text().startswith("last.txt")
    page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="python").click()
    expect(page.get_by_role("heading", name="/python")).to_be_visible()
    missing = page.goto(
        f"{strata_server.url}/console/layers/{account.account_id}/big/1/files?dir=nope"
    )
    assert missing.status == 404
