"""Steps a person takes in the console, done in the browser the way they would do them: by
labels, roles and visible text."""

from __future__ import annotations


def sign_in(page, server, credentials, path: str = "/console/") -> None:
    page.goto(server.url + path)
    page.get_by_label("Access key id").fill(credentials.access_key_id)
    page.get_by_label("Secret access key").fill(credentials.secret_access_key)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("account-id").wait_for()
