"""The three ways CloudWatch's clients speak to it, each read into and written from the same
plain documents (dicts, lists, strings, numbers, and datetimes for timestamps):

- Smithy RPC v2 CBOR at /service/GraniteServiceVersion20100801/operation/<Op> (boto3 and the AWS
  CLI v1 of botocore 1.3x and later): CBOR bodies, timestamps as tag 1 (epoch seconds);
- the JSON protocol (`X-Amz-Target: GraniteServiceVersion20100801.<Op>`, awsJson 1.0): epoch
  seconds;
- the query protocol (a form with `Action=<Op>`, as older botocore and the AWS CLI v2 Debian ships
  send it): `List.member.N` and `Struct.Member` keys in, XML out, ISO 8601 timestamps.

CloudWatch is "query compatible": whatever the protocol, an error names its query code (the
x-amzn-query-error header), which is how botocore finds the modeled exception.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from xml.sax.saxutils import escape

import cbor2
from flask import Response, g, request

from registry.api.requests import raw_body
from registry.api.rpc import CBOR_PREFIX, query_form
from registry.errors import InvalidParameterValue

XML_NAMESPACE = "http://monitoring.amazonaws.com/doc/2010-08-01/"
SHAPE_NAMESPACE = "com.amazonaws.cloudwatch"


@dataclass(frozen=True)
class CloudWatchError:
    query_code: str  # the query protocol's code: InvalidParameterValue, MissingParameter, ...
    shape: str  # the modeled shape: InvalidParameterValueException, ...
    status: int
    message: str
    sender: bool = True  # the client's fault (Sender) or the service's (Receiver)


class Protocol:
    content_type = ""

    def read(self) -> dict:
        raise NotImplementedError

    def answer(self, operation: str, document: dict) -> Response:
        raise NotImplementedError

    def error(self, error: CloudWatchError) -> Response:
        raise NotImplementedError

    def _response(self, body: bytes, status: int = 200) -> Response:
        return Response(body, status=status, content_type=self.content_type)

    def _query_error_header(self, response: Response, error: CloudWatchError) -> Response:
        fault = "Sender" if error.sender else "Receiver"
        response.headers["x-amzn-query-error"] = f"{error.query_code};{fault}"
        return response


class CborProtocol(Protocol):
    content_type = "application/cbor"

    def read(self) -> dict:
        body = bytes(raw_body())
        if not body:
            return {}
        try:
            document = cbor2.loads(body)
        except (cbor2.CBORDecodeError, ValueError) as error:
            raise InvalidParameterValue(f"The request body is not valid CBOR: {error}") from None
        return _epoch_times(document) if isinstance(document, dict) else {}

    def answer(self, operation: str, document: dict) -> Response:
        return self._smithy(self._response(cbor2.dumps(_tagged_times(document))))

    def error(self, error: CloudWatchError) -> Response:
        body = {"__type": f"{SHAPE_NAMESPACE}#{error.shape}", "message": error.message}
        response = self._response(cbor2.dumps(body), error.status)
        return self._query_error_header(self._smithy(response), error)

    @staticmethod
    def _smithy(response: Response) -> Response:
        response.headers["smithy-protocol"] = "rpc-v2-cbor"
        return response


class JsonProtocol(Protocol):
    content_type = "application/x-amz-json-1.0"

    def read(self) -> dict:
        body = bytes(raw_body())
        if not body:
            return {}
        try:
            document = json.loads(body)
        except ValueError as error:
            raise InvalidParameterValue(f"The request body is not valid JSON: {error}") from None
        return document if isinstance(document, dict) else {}

    def answer(self, operation: str, document: dict) -> Response:
        return self._response(json.dumps(_epoch_times(document)).encode())

    def error(self, error: CloudWatchError) -> Response:
        body = {"__type": f"{SHAPE_NAMESPACE}#{error.shape}", "message": error.message}
        response = self._response(json.dumps(body).encode(), error.status)
        return self._query_error_header(response, error)


class QueryProtocol(Protocol):
    content_type = "text/xml"

    def read(self) -> dict:
        return unflatten(query_form())

    def answer(self, operation: str, document: dict) -> Response:
        body = (
            f'<{operation}Response xmlns="{XML_NAMESPACE}">'
            f"<{operation}Result>{_xml(document)}</{operation}Result>"
            f"<ResponseMetadata><RequestId>{g.get('request_id', '')}</RequestId>"
            f"</ResponseMetadata></{operation}Response>"
        )
        return self._response(body.encode())

    def error(self, error: CloudWatchError) -> Response:
        fault = "Sender" if error.sender else "Receiver"
        body = (
            f'<ErrorResponse xmlns="{XML_NAMESPACE}"><Error><Type>{fault}</Type>'
            f"<Code>{escape(error.query_code)}</Code><Message>{escape(error.message)}</Message>"
            f"</Error><RequestId>{g.get('request_id', '')}</RequestId></ErrorResponse>"
        )
        return self._response(body.encode(), error.status)


def protocol() -> Protocol:
    """The protocol the current request speaks."""
    if request.path.startswith(CBOR_PREFIX):
        return CborProtocol()
    if request.headers.get("X-Amz-Target"):
        return JsonProtocol()
    return QueryProtocol()


def timestamp(value, name: str) -> float:
    """Epoch seconds from what a protocol sends for a timestamp: a number (JSON), a datetime
    (CBOR's tag, already read as epoch seconds) or ISO 8601 text (query)."""
    if isinstance(value, bool):
        value = None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            moment = datetime.fromisoformat(re.sub(r"Z$", "+00:00", text))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
            return moment.timestamp()
    raise InvalidParameterValue(f"The parameter {name} is not a valid timestamp: {value!r}.")


def unflatten(form: dict[str, str]) -> dict:
    """Query parameters as a document: `A.member.2.B=x` becomes {"A": [..., {"B": "x"}]}."""
    root: dict = {}
    for key, value in form.items():
        if key in ("Action", "Version"):
            continue
        parts = key.split(".")
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if part == "member":
                node.setdefault("__list__", True)
                continue
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _lists(root)


def _lists(node):
    if not isinstance(node, dict):
        return node
    if node.pop("__list__", False):
        items = sorted(((int(k), v) for k, v in node.items() if k.isdigit()), key=lambda i: i[0])
        return [_lists(value) for _, value in items]
    return {key: _lists(value) for key, value in node.items()}


def _epoch_times(value):
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.timestamp()
    if isinstance(value, dict):
        return {key: _epoch_times(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_epoch_times(item) for item in value]
    return value


def _tagged_times(value):
    if isinstance(value, datetime):
        return cbor2.CBORTag(1, _epoch_times(value))
    if isinstance(value, dict):
        return {key: _tagged_times(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_tagged_times(item) for item in value]
    return value


def _xml(value) -> str:
    if isinstance(value, dict):
        return "".join(f"<{key}>{_xml(item)}</{key}>" for key, item in value.items())
    if isinstance(value, list):
        return "".join(f"<member>{_xml(item)}</member>" for item in value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))
