"""A version page never holds its request for the whole reading of a large zip: while the version's
listing is being computed (it was published a moment ago), the page answers without it, says so,
and reloads until it is there."""

from __future__ import annotations

import fcntl
import hashlib
import time

from tests.console.web import Visitor
from tests.support.zips import make_zip

PENDING = 'data-testid="listing-pending"'


def test_version_page__while_its_listing_is_computed_answers_without_it_then_shows_it(
    strata_server, account, lam
):
    content = make_zip({"python/held.py": "HELD = True\n"})
    listings = strata_server.data_dir / "cache" / "layer-contents"
    listings.mkdir(parents=True, exist_ok=True)
    lock_path = listings / f".{hashlib.sha256(content).hexdigest()}.lock"
    visitor = Visitor(strata_server.url)
    visitor.sign_in(account.access_key_id, account.secret_access_key)
    path = f"/console/layers/{account.account_id}/held/1"

    # As another process does while it computes the listing: the background has to wait for it.
    with open(lock_path, "a") as computing:
        fcntl.flock(computing, fcntl.LOCK_EX)
        lam.publish_layer_version(LayerName="held", Content={"ZipFile": content})
        started = time.monotonic()
        page = visitor.get(path)
        answered_s = time.monotonic() - started

    assert page.status_code == 200 and PENDING in page.text
    assert '<meta http-equiv="refresh" content="1">' in page.text
    assert "held.py" not in page.text
    assert answered_s < 1.0, answered_s  # not held until the listing is there
    deadline = time.monotonic() + 15
    while PENDING in (page := visitor.get(path)).text:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "held.py" in page.text and 'http-equiv="refresh"' not in page.text
