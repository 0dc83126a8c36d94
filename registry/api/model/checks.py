"""The model's constraints, checked for each Lambda API request before its handler runs.

The model is botocore's, loaded once at start-up: a newer botocore brings AWS's newer patterns,
limits and enums with it. Every value the request carries is checked (path labels, query
parameters, headers and the JSON body, nested members included) and all failures are reported
together, as AWS does. Members that are missing, or of the wrong JSON type, are left to the
handlers, which answer those as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from botocore.loaders import create_loader
from botocore.model import OperationModel, ServiceModel, Shape

from registry.api.model.constraints import member_path, violations
from registry.api.model.routes import Routes
from registry.errors import ModelValidationError

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,19}")


class ModelChecks:
    def __init__(self, model: ServiceModel):
        self.routes = Routes(model)

    @classmethod
    def load(cls) -> ModelChecks:
        return cls(ServiceModel(create_loader().load_service_model("lambda", "service-2")))

    def check(
        self,
        method: str,
        path: str,
        query,
        headers: Mapping[str, str],
        body: Callable[[], dict],
    ) -> None:
        """Raise ModelValidationError naming every value of the request that breaks the model.
        `query` is a MultiDict; `body` reads the JSON body, and is called only for an operation
        that takes one."""
        found = self.routes.match(method, path, query)
        if found is None or found.operation.input_shape is None:
            return
        failures = list(self._failures(found.operation, found.labels, query, headers, body))
        if failures:
            raise ModelValidationError(failures)

    def _failures(self, operation: OperationModel, labels, query, headers, body):
        shape = operation.input_shape
        document = body() if _takes_json_body(shape) else {}
        for name, member in shape.members.items():
            location = member.serialization.get("location")
            wire_name = member.serialization.get("name", name)
            if location == "uri":
                value = _typed(member, labels.get(wire_name))
            elif location == "querystring":
                if member.type_name == "list":
                    value = query.getlist(wire_name) or None
                else:
                    value = _typed(member, query.get(wire_name))
            elif location == "header":
                value = headers.get(wire_name) or None
            elif location is None and name != shape.serialization.get("payload"):
                value = document.get(name)
            else:
                continue
            yield from violations(member, value, member_path("", name))


def _takes_json_body(shape: Shape) -> bool:
    if shape.serialization.get("payload"):
        return False
    return any("location" not in m.serialization for m in shape.members.values())


def _typed(shape: Shape, value: str | None):
    """A path or query value as its member's type; one that is not a number stays a string,
    which the model's number checks pass over and the handler refuses."""
    numeric = shape.type_name in ("integer", "long")
    if numeric and value is not None and _WHOLE_NUMBER.fullmatch(value):
        return int(value)
    return value
