"""AWS's answers, written down, and the comparison the conformance suite makes against them.

An expected answer is the document AWS Lambda returns, with a matcher wherever its value varies
(an ARN's account, a timestamp, a RevisionId). The comparison is strict: every key AWS sends must
be there and no other, at every level, and every value must equal or match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from botocore.exceptions import ClientError


@dataclass(frozen=True)
class Matches:
    """A string value that varies: it must fully match `pattern`."""

    pattern: str

    def check(self, value) -> bool:
        return isinstance(value, str) and re.fullmatch(self.pattern, value) is not None


@dataclass(frozen=True)
class Kind:
    """A value of a type whose content varies (a count, a size)."""

    type_: type

    def check(self, value) -> bool:
        # True is an int to Python, never to AWS.
        return isinstance(value, self.type_) and isinstance(value, bool) == (self.type_ is bool)


TIMESTAMP = Matches(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000")
# Provisioned concurrency settings are stamped to the second.
TIMESTAMP_SECONDS = Matches(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+0000")
UUID = Matches(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
SHA256_B64 = Matches(r"[A-Za-z0-9+/]{43}=")
INT = Kind(int)


def differences(actual, expected, where: str = "$") -> list[str]:
    """Every place where `actual` departs from `expected`, as readable lines."""
    if isinstance(expected, (Matches, Kind)):
        return [] if expected.check(actual) else [f"{where}: {actual!r} does not match {expected}"]
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {actual!r}"]
        found = []
        for key in expected.keys() - actual.keys():
            found.append(f"{where}: missing key {key!r}")
        for key in actual.keys() - expected.keys():
            found.append(f"{where}: unexpected key {key!r} = {actual[key]!r}")
        for key in expected.keys() & actual.keys():
            found += differences(actual[key], expected[key], f"{where}.{key}")
        return found
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{where}: expected {len(expected)} items, got {actual!r}"]
        found = []
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found += differences(a, e, f"{where}[{i}]")
        return found
    if actual != expected or type(actual) is not type(expected):
        return [f"{where}: {actual!r} != {expected!r}"]
    return []


def assert_answer(response: dict, expected: dict, *, status: int) -> None:
    """A successful boto3 answer: its HTTP status, and its document without botocore's
    ResponseMetadata compared with AWS's."""
    assert response["ResponseMetadata"]["HTTPStatusCode"] == status
    body = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    found = differences(body, expected)
    assert not found, "\n".join(found)


def assert_error(call, *, code: str, status: int, message: str | Matches, **fields) -> ClientError:
    """`call()` must fail as AWS fails: this error code, HTTP status and message, and the extra
    members (such as Type or Reason) AWS sends with it."""
    try:
        call()
    except ClientError as error:
        answer = error.response
        got = (answer["Error"]["Code"], answer["ResponseMetadata"]["HTTPStatusCode"])
        assert got == (code, status), f"{got} != {(code, status)}: {answer['Error']}"
        found = differences(answer["Error"].get("Message"), message, "Message")
        for key, value in fields.items():
            found += differences(answer.get(key), value, key)
        assert not found, "\n".join(found)
        return error
    raise AssertionError(f"expected {code} ({status}); the call succeeded")
