"""Signing in and out in a real browser (headless Chromium)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.browser import sign_in
from tests.support.zips import layer_zip


def test_sign_in_and_out__in_the_browser(page, strata_server, account):
    page.goto(strata_server.url + "/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    sign_in(page, strata_server, account)
    expect(page.get_by_role("heading", name="Layers")).to_be_visible()
    assert page.get_by_test_id("account-id").inner_text() == account.account_id

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.goto(strata_server.url + "/console/layers")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_wrong_secret__is_announced_and_leaves_the_visitor_signed_out(
    page, strata_server, account
):
    page.goto(strata_server.url + "/console/sign-in")
    page.get_by_label("Access key id").fill(account.access_key_id)
    page.get_by_label("Secret access key").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()

    assert "not right" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Access key id").input_value() == account.access_key_id
    page.wait_for_load_state()
    assert page.get_by_test_id("account-id").count() == 0


def test_sign_in__works_from_the_keyboard_alone(page, strata_server, account):
    page.goto(strata_server.url + "/console/sign-in")
    # The key id field has the focus when the page opens.
    expect(page.get_by_label("Access key id")).to_be_focused()
    page.keyboard.type(account.access_key_id)
    page.keyboard.press("Tab")
    page.keyboard.type(account.secret_access_key)
    page.keyboard.press("Enter")

    page.get_by_test_id("account-id").wait_for()
    page.keyboard.press("Tab")  # the first stop skips the header to the content
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"


def test_a_forged_form_post_from_another_page__is_refused(page, strata_server, account, lam):
    version = lam.publish_layer_version(LayerName="forged", Content={"ZipFile": layer_zip()})[
        "Version"
    ]
    sign_in(page, strata_server, account)
    target = f"{strata_server.url}/console/layers/{account.account_id}/forged/{version}/grants"
    # A page that posts the grant form without the token, with the visitor's cookie.
    page.set_content(
        f'<form method="post" action="{target}"><input name="kind" value="public">'
        '<button type="submit">Go</button></form>'
    )
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Go").click()

    assert navigation.value.status == 403
    expect(page.get_by_role("heading", name="Form refused")).to_be_visible()
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName="forged", VersionNumber=version)
