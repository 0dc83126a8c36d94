"""The bundle cache's hits and misses: the first function of a code and layers merges them, the
next with the same code and layers reuses the bundle."""

from __future__ import annotations

import uuid

from tests.metrics.scrape import scrape
from tests.support.functions import create, handler_zip


def test_merge_cache__a_new_bundle_is_a_miss_and_its_reuse_a_hit(strata_server, lam):
    code = handler_zip(
        f"MARK = {uuid.uuid4().hex!r}\n\ndef handler(event, context):\n    return 1\n"
    )
    before = scrape(strata_server.url)

    create(lam, "first-of-its-code", code)
    create(lam, "second-of-its-code", code)
    after = scrape(strata_server.url)

    def delta(result: str) -> float:
        name = "strata_merge_cache_requests_total"
        return after.value(name, result=result) - before.value(name, result=result)

    assert (delta("miss"), delta("hit")) == (1, 1)
