"""A function's tags (TagResource, UntagResource, ListTags, and CreateFunction's Tags).

Lambda tags functions only: the ARN must name a function without a qualifier, as tags belong to
the function and not to its versions or aliases. A layer's ARN is not a taggable resource (the
model's pattern refuses it before the operation runs). Changing tags draws a new RevisionId for
$LATEST, as on Lambda.
"""

from __future__ import annotations

import re
import unicodedata
import uuid

from registry.accounts import Caller
from registry.errors import ConstraintViolation, InvalidParameterValue, ResourceNotFound
from registry.functions.names import FunctionRef, parse_function_name
from registry.functions.rows import FunctionRows

MAX_TAGS = 50
MAX_KEY = 128
MAX_VALUE = 256
# The TaggableResource pattern of the Lambda model.
TAGGABLE = (
    r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:"
    r"(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|"
    r"event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})"
)
_TAGGABLE = re.compile(TAGGABLE)
_FUNCTION = re.compile(r"arn:[^:]+:lambda:[^:]+:\d{12}:function:[^:]+(?P<qualifier>:.+)?")
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
# The prefix AWS keeps for its own tags, in any case: a caller may not set such a key.
RESERVED_PREFIX = "aws:"
RESERVED = "Tag keys starting with 'aws:' are reserved for AWS use and cannot be set."
_QUALIFIED = (
    "Tagging operations are permitted on Lambda functions only. Tags on aliases and versions are "
    "not supported. Please specify either a function name or a function ARN."
)


def check_tags(tags) -> dict:
    """Tags as CreateFunction and TagResource take them: at most 50, each key 1 to 128 and each
    value up to 256 letters, digits, spaces and `_ . : / = + - @`; no key in AWS's own `aws:`
    namespace."""
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise InvalidParameterValue("Tags must map string keys to string values.")
    if len(tags) > MAX_TAGS:
        raise InvalidParameterValue("Number of tags exceeds function tag limit.")
    for key, value in tags.items():
        _check_tag_text(key, "tags.key", minimum=1, maximum=MAX_KEY)
        _check_tag_text(value, "tags.value", minimum=0, maximum=MAX_VALUE)
    if any(key.lower().startswith(RESERVED_PREFIX) for key in tags):
        raise InvalidParameterValue(RESERVED)
    return dict(tags)


def _check_tag_text(text: str, field: str, *, minimum: int, maximum: int) -> None:
    if len(text) > maximum:
        raise ConstraintViolation(
            text, field, f"Member must have length less than or equal to {maximum}"
        )
    if len(text) < minimum:
        raise ConstraintViolation(
            text, field, f"Member must have length greater than or equal to {minimum}"
        )
    if not all(unicodedata.category(c)[0] in "LZN" or c in _TAG_PUNCTUATION for c in text):
        raise ConstraintViolation(
            text,
            field,
            r"Member must satisfy regular expression pattern: ([\p{L}\p{Z}\p{N}_.:/=+\-@]*)",
        )


class FunctionTags(FunctionRows):
    def tag_resource(self, caller: Caller, resource: str, tags) -> None:
        ref = self._tagged(caller, resource, "lambda:TagResource")
        if tags is None or tags == {}:
            raise InvalidParameterValue("An error occurred and the request cannot be processed.")
        tags = check_tags(tags)
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            merged = {**(row.tags or {}), **tags}
            if len(merged) > MAX_TAGS:
                raise InvalidParameterValue("Number of tags exceeds function tag limit.")
            row.tags = merged
            row.revision_id = str(uuid.uuid4())

    def untag_resource(self, caller: Caller, resource: str, keys: list[str]) -> None:
        ref = self._tagged(caller, resource, "lambda:UntagResource")
        if not keys:
            raise ConstraintViolation("null", "tagKeys", "Member must not be null")
        with self._db.write() as session:
            row = self._function_row(session, caller.account_id, ref.name, lock=True)
            kept = {k: v for k, v in (row.tags or {}).items() if k not in keys}
            if kept != (row.tags or {}):
                row.tags = kept
                row.revision_id = str(uuid.uuid4())

    def list_tags(self, caller: Caller, resource: str) -> dict:
        ref = self._tagged(caller, resource, "lambda:ListTags")
        with self._db.read() as session:
            return dict(self._function_row(session, caller.account_id, ref.name).tags or {})

    def _tagged(self, caller: Caller, resource, action: str) -> FunctionRef:
        """The function a taggable resource ARN names, which must be the caller's own."""
        if not isinstance(resource, str) or not _TAGGABLE.fullmatch(resource):
            raise ConstraintViolation(
                resource, "resource", f"Member must satisfy regular expression pattern: {TAGGABLE}"
            )
        function = _FUNCTION.fullmatch(resource)
        if function is None:  # a kind of resource Strata does not have
            raise ResourceNotFound("The resource you requested does not exist.")
        if function.group("qualifier"):
            raise InvalidParameterValue(_QUALIFIED)
        ref = parse_function_name(resource, region=self._region)
        self._require_own(caller, ref, action)
        return ref
