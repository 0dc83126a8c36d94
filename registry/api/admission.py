"""How much request body the API accepts, decided from the request's head alone.

The front (registry/front) asks before it reads a body: a request to the Lambda API whose
signature headers already fail (no or malformed Authorization, unknown key, date outside the
window, wrong scope) is answered without its body ever being read. Other unsigned paths take
only what `unsigned` allows them (the console's forms); extension endpoints take no body at all.
"""

from __future__ import annotations

from collections.abc import Callable

from werkzeug.datastructures import Headers

from registry.accounts import KeyRecord
from registry.api import sigv4
from registry.errors import StrataError


class BodyAllowance:
    def __init__(
        self,
        signing_names: Callable[[str, str], tuple[str, ...] | None],
        find_key: Callable[[str], KeyRecord | None],
        region: str,
        max_body_bytes: int,
        unsigned: Callable[[str, str], int] = lambda method, path: 0,
    ):
        self._signing_names = signing_names
        self._unsigned = unsigned
        self._find_key = find_key
        self._region = region
        self._max_body_bytes = max_body_bytes

    def __call__(self, method: str, path: str, headers: list[tuple[str, str]]) -> int:
        """The most body bytes worth reading for this request; 0 when none should be."""
        names = self._signing_names(method, path)
        if not names:
            return self._unsigned(method, path)
        try:
            sigv4.check_headers(
                Headers(headers), self._find_key, region=self._region, services=names
            )
        except StrataError:
            return 0
        return self._max_body_bytes
