"""Reading request bodies and parameters; every malformed input becomes a typed domain error."""

from __future__ import annotations

import base64
import binascii
import json

from flask import request

from registry.errors import InvalidParameterValue, InvalidRequestContent


def json_body() -> dict:
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequestContent(f"Could not parse request body into json: {error}") from None
    if not isinstance(body, dict):
        raise InvalidRequestContent("The request body must be a JSON object.")
    return body


def string(body: dict, key: str, *, required: bool = False, default: str | None = None) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise InvalidParameterValue(f"{key} is required.")
        return default
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{key} must be a string.")
    return value


def string_list(body: dict, key: str) -> list[str] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValue(f"{key} must be a list of strings.")
    return value


def base64_blob(value, field: str) -> bytes:
    if not isinstance(value, str):
        raise InvalidParameterValue(f"{field} must be a base64-encoded string.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValue(f"{field} is not valid base64.") from None
