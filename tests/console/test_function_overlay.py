"""A function's overlay is computed as its bundle is prepared, in the server's background, so
its first console view reads the cache rather than planning the merge."""

from __future__ import annotations

import base64
import re
import time

from registry.invocations.bundles import bundle_key
from tests.console.web import Visitor
from tests.support.functions import create
from tests.support.zips import make_zip


def _digest(code_sha256: str) -> str:
    return base64.b64decode(code_sha256).hex()


def _cached(path, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_overlay__is_cached_once_the_function_is_prepared_before_any_view(
    strata_server, account, lam
):
    layers = [
        lam.publish_layer_version(
            LayerName=name,
            Content={"ZipFile": make_zip({"python/shared.py": f"WHO = {name!r}\n"})},
        )
        for name in ("early-base", "early-top")
    ]
    created = create(lam, "early", Layers=[layer["LayerVersionArn"] for layer in layers])
    key = bundle_key(
        _digest(created["CodeSha256"]),
        [_digest(layer["Content"]["CodeSha256"]) for layer in layers],
    )

    assert _cached(strata_server.data_dir / "cache" / "function-overlays" / f"{key}.json")
    visitor = Visitor(strata_server.url)
    visitor.sign_in(account.access_key_id, account.secret_access_key)
    page = visitor.get("/console/functions/early/overlay")
    assert page.status_code == 200
    (row,) = re.findall(r'<tr data-testid="shadowed">(.*?)</tr>', page.text, re.S)
    assert re.findall(r"<td>(.*?)</td>", row) == [
        "<code>python/shared.py</code>",
        "early-base",
        "early-top",
    ]
