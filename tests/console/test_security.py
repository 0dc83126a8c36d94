"""The console's security properties over plain HTTP against a real server: sign-in, the session
cookie, CSRF, what another account may see, and the sign-in rate limits."""

from __future__ import annotations

import time

import pytest
import requests

from registry.accounts import KEY_CACHE_SECONDS, add_access_key, delete_access_key
from registry.console import MAX_FORM_BYTES
from registry.console.sessions import COOKIE, SESSION_SECONDS
from registry.console.signin_limits import SignInLimits
from tests.console.web import Visitor, visitor_from
from tests.support.zips import layer_zip


def _publish(lam, name: str = "shared-bits") -> dict:
    return lam.publish_layer_version(
        LayerName=name, Content={"ZipFile": layer_zip()}, CompatibleRuntimes=["python3.11"]
    )


def _signed_in(server, credentials) -> Visitor:
    visitor = Visitor(server.url)
    response = visitor.sign_in(credentials.access_key_id, credentials.secret_access_key)
    assert response.status_code == 303, response.text
    return visitor


def _cookie_header(response) -> str:
    return next(v for k, v in response.raw.headers.items() if k.lower() == "set-cookie")


def test_sign_in__the_right_key_opens_an_httponly_lax_expiring_session(strata_server, account):
    visitor = Visitor(strata_server.url)
    response = visitor.sign_in(account.access_key_id, account.secret_access_key)

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/console/layers")
    cookie = _cookie_header(response).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert f"max-age={SESSION_SECONDS}" in cookie
    assert "path=/console" in cookie
    assert "secure" not in cookie  # plain HTTP: a Secure cookie would never come back
    page = visitor.get("/console/layers")
    assert page.status_code == 200
    assert account.account_id in page.text


def test_sign_in__over_https_the_cookie_is_secure(strata_server):
    # The server trusts X-Forwarded-Proto from loopback, as from a TLS-terminating balancer.
    response = Visitor(strata_server.url).get(
        "/console/sign-in", headers={"X-Forwarded-Proto": "https"}
    )
    assert "secure" in _cookie_header(response).lower()


def test_sign_in__a_wrong_secret_or_an_unknown_key_is_refused(strata_server, account):
    visitor = Visitor(strata_server.url)
    wrong = visitor.sign_in(account.access_key_id, account.secret_access_key + "x")
    unknown = visitor.sign_in("AKIANOSUCHKEY0000000", account.secret_access_key)

    assert wrong.status_code == unknown.status_code == 401
    assert "not right" in wrong.text
    assert visitor.get("/console/layers").status_code == 302


def test_pages__without_a_session_send_the_visitor_to_sign_in_and_back(strata_server, account):
    visitor = Visitor(strata_server.url)
    response = visitor.get("/console/functions")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/sign-in?next=/console/functions")
    visitor.get("/console/sign-in?next=/console/functions")
    signed = visitor.post(
        "/console/sign-in",
        {
            "access_key_id": account.access_key_id,
            "secret_access_key": account.secret_access_key,
            "next": "/console/functions",
        },
    )
    assert signed.headers["Location"].endswith("/console/functions")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/elsewhere"])
def test_sign_in__never_sends_the_visitor_off_the_console(strata_server, account, target):
    response = Visitor(strata_server.url).sign_in(
        account.access_key_id, account.secret_access_key, next_path=target
    )
    assert response.headers["Location"].endswith("/console/layers")


def test_sign_out__ends_the_session(strata_server, account):
    visitor = _signed_in(strata_server, account)
    visitor.get("/console/layers")

    assert visitor.post("/console/sign-out", {}).status_code == 303
    assert visitor.get("/console/layers").status_code == 302


def test_sign_out__a_copy_of_the_cookie_taken_before_opens_nothing(strata_server, account):
    visitor = _signed_in(strata_server, account)
    visitor.get("/console/layers")
    copied = visitor.http.cookies.get(COOKIE)
    thief = Visitor(strata_server.url)
    thief.http.cookies.set(COOKIE, copied, path="/console")
    assert thief.get("/console/layers").status_code == 200  # the copy works while signed in

    assert visitor.post("/console/sign-out", {}).status_code == 303

    refused = thief.get("/console/layers")
    assert refused.status_code == 302
    assert "/console/sign-in" in refused.headers["Location"]
    other = _signed_in(strata_server, account)  # a new session of the same key is not affected
    assert other.get("/console/layers").status_code == 200


def test_forged_forms__without_a_valid_csrf_token_are_refused_and_change_nothing(
    strata_server, account, lam
):
    version = _publish(lam)["Version"]
    visitor = _signed_in(strata_server, account)
    page = f"/console/layers/{account.account_id}/shared-bits/{version}"
    visitor.get(page)
    other = Visitor(strata_server.url)
    other.get("/console/sign-in")  # a token the attacker could obtain: their own session's

    grant = {"kind": "public"}
    for token in ("", "0" * 64, other.token):
        assert visitor.post(f"{page}/grants", grant, token=token).status_code == 403
        assert visitor.post(f"{page}/delete", {}, token=token).status_code == 403
    # A cross-site form post carries the cookie only under SameSite=None; even with it, no token.
    assert visitor.post("/console/sign-out", {}, token="").status_code == 403

    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName="shared-bits", VersionNumber=version)
    assert lam.get_layer_version(LayerName="shared-bits", VersionNumber=version)["Version"]
    assert visitor.get("/console/layers").status_code == 200  # still signed in


def test_a_token_from_before_sign_in__is_worthless_after_it(strata_server, account, lam):
    version = _publish(lam)["Version"]
    visitor = Visitor(strata_server.url)
    visitor.get("/console/sign-in")
    before = visitor.token
    visitor.post(
        "/console/sign-in",
        {"access_key_id": account.access_key_id, "secret_access_key": account.secret_access_key},
    )
    page = f"/console/layers/{account.account_id}/shared-bits/{version}"

    assert visitor.post(f"{page}/grants", {"kind": "public"}, token=before).status_code == 403
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName="shared-bits", VersionNumber=version)


def test_grants__added_and_removed_through_forms_change_the_api_policy(strata_server, account, lam):
    version = _publish(lam)["Version"]
    visitor = _signed_in(strata_server, account)
    page = f"/console/layers/{account.account_id}/shared-bits/{version}"
    visitor.get(page)

    added = visitor.post(
        f"{page}/grants",
        {"kind": "account", "account_id": "210987654321", "statement_id": "friend"},
    )
    assert added.status_code == 303
    policy = lam.get_layer_version_policy(LayerName="shared-bits", VersionNumber=version)
    assert "arn:aws:iam::210987654321:root" in policy["Policy"]

    assert visitor.get(f"{page}/grants/friend/remove").status_code == 200  # the confirmation
    assert visitor.post(f"{page}/grants/friend/remove", {}).status_code == 303
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version_policy(LayerName="shared-bits", VersionNumber=version)


def test_delete__after_confirmation_deletes_the_version(strata_server, account, lam):
    version = _publish(lam)["Version"]
    visitor = _signed_in(strata_server, account)
    page = f"/console/layers/{account.account_id}/shared-bits/{version}"

    assert visitor.get(f"{page}/delete").status_code == 200
    assert visitor.post(f"{page}/delete", {}).status_code == 303
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_layer_version(LayerName="shared-bits", VersionNumber=version)
    assert visitor.get(page).status_code == 404


def test_another_accounts_private_layer__answers_404_on_every_page(strata_server, account, lam):
    version = _publish(lam)["Version"]
    stranger = _signed_in(strata_server, strata_server.new_account())
    base = f"/console/layers/{account.account_id}/shared-bits"

    for path in (
        base,
        f"{base}/{version}",
        f"{base}/{version}/delete",
        f"{base}/{version}/grants/x/remove",
        f"/console/layers/{account.account_id}/no-such-layer",
    ):
        assert stranger.get(path).status_code == 404, path
    assert "shared-bits" not in stranger.get("/console/layers").text
    assert stranger.post(f"{base}/{version}/delete", {}).status_code == 404
    assert lam.get_layer_version(LayerName="shared-bits", VersionNumber=version)


def test_a_layer_shared_with_the_account__is_listed_and_readable_but_not_changeable(
    strata_server, account, lam
):
    version = _publish(lam)["Version"]
    friend = strata_server.new_account()
    lam.add_layer_version_permission(
        LayerName="shared-bits",
        VersionNumber=version,
        StatementId="friend",
        Action="lambda:GetLayerVersion",
        Principal=friend.account_id,
    )
    visitor = _signed_in(strata_server, friend)
    page = f"/console/layers/{account.account_id}/shared-bits/{version}"

    listing = visitor.get("/console/layers").text
    assert "shared-bits" in listing and account.account_id in listing
    shown = visitor.get(page)
    assert shown.status_code == 200
    assert "Grant access" not in shown.text
    assert visitor.post(f"{page}/grants", {"kind": "public"}).status_code == 404
    assert visitor.post(f"{page}/delete", {}).status_code == 404


def test_a_deleted_key__ends_its_console_sessions(strata_server, account):
    extra = add_access_key(
        strata_server.db, box=strata_server.secret_box, account_id=account.account_id
    )
    visitor = _signed_in(strata_server, extra)
    assert visitor.get("/console/layers").status_code == 200

    delete_access_key(strata_server.db, extra.access_key_id)
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    assert visitor.get("/console/layers").status_code == 302


def test_pages__are_kept_out_of_caches_and_frames(strata_server, account):
    response = _signed_in(strata_server, account).get("/console/layers")

    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_failed_sign_ins__lock_the_key_out_of_that_address_even_with_the_right_secret(own_server):
    account = own_server.new_account()
    other = own_server.new_account()
    visitor = Visitor(own_server.url)
    for _ in range(SignInLimits().per_key):
        assert visitor.sign_in(account.access_key_id, "wrong").status_code == 401

    locked = visitor.sign_in(account.access_key_id, account.secret_access_key)
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) > 0
    # The count is per key: another account's key still signs in from the same address.
    assert visitor.sign_in(other.access_key_id, other.secret_access_key).status_code == 303


def test_failed_sign_ins_with_someone_elses_key__never_lock_its_owner_out(own_server):
    victim = own_server.new_account()
    attacker = visitor_from(own_server.url, "127.0.0.2")
    statuses = [
        attacker.sign_in(victim.access_key_id, "guess").status_code
        for _ in range(SignInLimits().per_address + 1)
    ]
    assert statuses[-1] == 429 and set(statuses[:-1]) <= {401, 429}, statuses

    owner = Visitor(own_server.url)
    response = owner.sign_in(victim.access_key_id, victim.secret_access_key)
    assert response.status_code == 303, response.text
    assert owner.get("/console/layers").status_code == 200


def test_failed_sign_ins__lock_the_client_address_out(own_server):
    visitor = Visitor(own_server.url)
    for attempt in range(SignInLimits().per_address):
        assert visitor.sign_in(f"AKIAGUESS{attempt:011d}", "wrong").status_code == 401

    account = own_server.new_account()
    assert visitor.sign_in(account.access_key_id, account.secret_access_key).status_code == 429


def test_a_form_larger_than_the_console_takes__is_refused_unread(strata_server, account):
    visitor = Visitor(strata_server.url)
    visitor.get("/console/sign-in")
    oversized = {
        "access_key_id": account.access_key_id,
        "secret_access_key": account.secret_access_key,
        "padding": "x" * (MAX_FORM_BYTES + 1),
    }
    try:
        response = visitor.post("/console/sign-in", oversized)
    except requests.ConnectionError:
        return  # refused before the body was read, and the connection closed
    assert response.status_code == 413
