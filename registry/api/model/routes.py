"""Which operation of the model a request is, from its method, path and query.

Paths are matched with or without a trailing slash: botocore's models have sent some operations
with one (the AWS CLI v2 that Debian ships lists functions at `/2015-03-31/functions/`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from botocore.model import OperationModel, ServiceModel

_LABEL = re.compile(r"\{([A-Za-z0-9_]+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    method: str
    path: re.Pattern
    # Query parameters the request URI fixes (`?find=LayerVersion`): they tell apart operations
    # that share a path.
    literals: tuple[tuple[str, str], ...]
    operation: OperationModel


@dataclass(frozen=True)
class Match:
    operation: OperationModel
    labels: dict[str, str]


class Routes:
    def __init__(self, model: ServiceModel):
        routes = [_route(model.operation_model(name)) for name in model.operation_names]
        # An operation that fixes query parameters is tried before one on the same path that
        # fixes none.
        self._routes = sorted(routes, key=lambda route: -len(route.literals))

    def match(self, method: str, path: str, query: Mapping[str, str]) -> Match | None:
        for route in self._routes:
            if route.method != method:
                continue
            found = route.path.fullmatch(path)
            if found and all(query.get(key) == value for key, value in route.literals):
                return Match(route.operation, found.groupdict())
        return None


def _route(operation: OperationModel) -> Route:
    uri = operation.http["requestUri"]
    path, _, query = uri.partition("?")
    pattern, position = [], 0
    for label in _LABEL.finditer(path):
        pattern.append(re.escape(path[position : label.start()]))
        pattern.append(f"(?P<{label.group(1)}>{'.+' if label.group(2) else '[^/]+'})")
        position = label.end()
    pattern.append(re.escape(path[position:].rstrip("/")))
    return Route(
        method=operation.http["method"],
        path=re.compile("".join(pattern) + "/?"),
        literals=tuple(parse_qsl(query, keep_blank_values=True)),
        operation=operation,
    )
