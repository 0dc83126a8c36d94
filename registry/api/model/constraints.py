"""The values of a request that break the constraints of Lambda's model, worded as AWS words them.

AWS checks a request against its model before the operation runs: a string's length and pattern,
a number's range, a list's or map's size, an enum's values. Each failure reads
`Value 'V' at 'path' failed to satisfy constraint: C`, where the path is the member's name with
its first letter in lower case (`memorySize`, `environment.variables`,
`fileSystemConfigs.1.member.arn`) and a sensitive value is left out. The members of a list or a
map are judged together: the list fails once, naming every constraint its members must meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

from botocore.model import Shape

# Java's Unicode classes in the model's patterns, as Python's re can read them.
_JAVA_CLASSES = {
    r"\p{L}": r"\w",
    r"\p{N}": r"\d",
    r"\p{Z}": r" \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000",
}


def violations(shape: Shape, value, path: str) -> Iterator[str]:
    """Every constraint `value` (as the JSON or the parameter carried it) breaks."""
    if value is None:
        return
    kind = shape.type_name
    if kind == "structure":
        if isinstance(value, dict):
            yield from _structure(shape, value, path)
    elif kind == "list":
        if isinstance(value, list):
            yield from _list(shape, value, path)
    elif kind == "map":
        if isinstance(value, dict):
            yield from _map(shape, value, path)
    else:
        yield from (
            _failure(shape, value, path, constraint) for constraint in _scalar(shape, value)
        )


def member_path(parent: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{parent}.{member}" if parent else member


def _structure(shape: Shape, value: dict, path: str) -> Iterator[str]:
    for name, member in shape.members.items():
        yield from violations(member, value.get(name), member_path(path, name))


def _list(shape: Shape, value: list, path: str) -> Iterator[str]:
    yield from (_failure(shape, value, path, c) for c in _size(shape, len(value)))
    item = shape.member
    if item.type_name == "structure":
        for index, element in enumerate(value, start=1):
            yield from violations(item, element, f"{path}.{index}.member")
    elif any(element is None or list(_scalar(item, element)) for element in value):
        yield _failure(
            shape, value, path, _all_of("Member must satisfy constraint", item, nullable=False)
        )


def _map(shape: Shape, value: dict, path: str) -> Iterator[str]:
    yield from (_failure(shape, value, path, c) for c in _size(shape, len(value)))
    if any(list(_scalar(shape.key, key)) for key in value):
        yield _failure(shape, value, path, _all_of("Map keys must satisfy constraint", shape.key))
    if shape.value.type_name not in ("structure", "list", "map") and any(
        list(_scalar(shape.value, item)) for item in value.values()
    ):
        yield _failure(
            shape, value, path, _all_of("Map value must satisfy constraint", shape.value)
        )


def _scalar(shape: Shape, value) -> Iterator[str]:
    """The constraints a string or number breaks, in the order AWS lists them."""
    meta = shape.metadata
    if shape.type_name == "string" and isinstance(value, str):
        yield from _size(shape, len(value))
        pattern = meta.get("pattern")
        if pattern is not None and not _compiled(pattern).fullmatch(value):
            yield f"Member must satisfy regular expression pattern: {pattern}"
        if "enum" in meta and value not in meta["enum"]:
            yield _enum(meta["enum"])
    elif shape.type_name in ("integer", "long") and _is_number(value):
        if "max" in meta and value > meta["max"]:
            yield f"Member must have value less than or equal to {meta['max']}"
        if "min" in meta and value < meta["min"]:
            yield f"Member must have value greater than or equal to {meta['min']}"


def _size(shape: Shape, size: int) -> Iterator[str]:
    meta = shape.metadata
    if "max" in meta and size > meta["max"]:
        yield f"Member must have length less than or equal to {meta['max']}"
    if "min" in meta and size < meta["min"]:
        yield f"Member must have length greater than or equal to {meta['min']}"


def _all_of(lead: str, shape: Shape, *, nullable: bool = True) -> str:
    """Every constraint of a list's or map's members, failing or not, as AWS names them."""
    meta = shape.metadata
    parts = []
    if shape.type_name == "string":
        if "max" in meta:
            parts.append(f"Member must have length less than or equal to {meta['max']}")
        if "min" in meta:
            parts.append(f"Member must have length greater than or equal to {meta['min']}")
        if "pattern" in meta:
            parts.append(f"Member must satisfy regular expression pattern: {meta['pattern']}")
        if "enum" in meta:
            parts.append(_enum(meta["enum"]))
    else:
        if "max" in meta:
            parts.append(f"Member must have value less than or equal to {meta['max']}")
        if "min" in meta:
            parts.append(f"Member must have value greater than or equal to {meta['min']}")
    if not nullable:
        parts.append("Member must not be null")
    return f"{lead}: [{', '.join(parts)}]"


def _enum(values: list[str]) -> str:
    return f"Member must satisfy enum value set: [{', '.join(values)}]"


def _failure(shape: Shape, value, path: str, constraint: str) -> str:
    shown = "" if shape.metadata.get("sensitive") else f"'{_render(value)}' "
    return f"Value {shown}at '{path}' failed to satisfy constraint: {constraint}"


def _render(value) -> str:
    """A value as AWS's messages print it (Java's rendering of strings, lists and maps)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_render(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    return str(value)


def _is_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@cache
def _compiled(pattern: str) -> re.Pattern:
    for java, python in _JAVA_CLASSES.items():
        pattern = pattern.replace(java, python)
    return re.compile(pattern)
