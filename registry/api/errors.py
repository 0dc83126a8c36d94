"""The one table from domain and storage errors to AWS error responses.

botocore picks the error code from the x-amzn-ErrorType header, and fills the modeled exception's
fields from the body using the message key each shape declares (`message` or `Message`), so both
are sent exactly as the Lambda model names them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import Flask, Response, g, json
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from registry import errors
from registry.api import rpc
from registry.logs.errors import LogLimitExceeded
from storage import errors as storage_errors

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AwsError:
    code: str
    status: int
    message_key: str = "message"
    fault: str = "User"


# Most specific class first is not needed: lookup walks each error's MRO.
ERROR_TABLE: dict[type[Exception], AwsError] = {
    errors.InvalidParameterValue: AwsError("InvalidParameterValueException", 400),
    errors.InvalidRequestContent: AwsError("InvalidRequestContentException", 400),
    errors.ModelValidationError: AwsError("ValidationException", 400),
    errors.ConstraintViolation: AwsError("ValidationException", 400),
    errors.ResourceNotFound: AwsError("ResourceNotFoundException", 404, "Message"),
    errors.ProvisionedConcurrencyConfigNotFound: AwsError(
        "ProvisionedConcurrencyConfigNotFoundException", 404
    ),
    errors.AccessDenied: AwsError("AccessDeniedException", 403, "Message"),
    errors.ResourceConflict: AwsError("ResourceConflictException", 409),
    errors.PreconditionFailed: AwsError("PreconditionFailedException", 412),
    errors.RequestTooLarge: AwsError("RequestTooLargeException", 413),
    errors.CodeStorageExceeded: AwsError("CodeStorageExceededException", 400),
    errors.PolicyLengthExceeded: AwsError("PolicyLengthExceededException", 400),
    errors.TooManyRequests: AwsError("TooManyRequestsException", 429),
    LogLimitExceeded: AwsError("LimitExceededException", 400),
    errors.ServiceUnavailable: AwsError("ServiceException", 500, "Message", "Service"),
    errors.MissingAuthenticationToken: AwsError("MissingAuthenticationTokenException", 403),
    errors.UnrecognizedClient: AwsError("UnrecognizedClientException", 403),
    errors.InvalidSignature: AwsError("InvalidSignatureException", 403),
    storage_errors.SignatureInvalid: AwsError("AccessDeniedException", 403, "Message"),
    storage_errors.SignatureExpired: AwsError("AccessDeniedException", 403, "Message"),
    storage_errors.BlobNotFound: AwsError("ResourceNotFoundException", 404, "Message"),
    storage_errors.StorageError: AwsError("ServiceException", 500, "Message", "Service"),
}

_UNKNOWN_OPERATION = AwsError("UnknownOperationException", 404)
_SERVICE = AwsError("ServiceException", 500, "Message", "Service")


def lookup(error: Exception) -> AwsError | None:
    for cls in type(error).__mro__:
        if cls in ERROR_TABLE:
            return ERROR_TABLE[cls]
    return None


def error_response(aws: AwsError, message: str, reason: str | None = None) -> Response:
    body = {"__type": aws.code, "Type": aws.fault, aws.message_key: message}
    if reason is not None:
        body["Reason"] = reason
    response = Response(json.dumps(body), status=aws.status, mimetype="application/json")
    response.headers["x-amzn-ErrorType"] = aws.code
    return response


def register(app: Flask) -> None:
    @app.errorhandler(errors.StrataError)
    @app.errorhandler(storage_errors.StorageError)
    def _domain(error):
        refused = rpc.refusal(error) if isinstance(error, errors.StrataError) else None
        if refused is not None:
            return refused
        aws = lookup(error)
        if aws is None:  # a new error class without a row: a bug, reported as a 500
            log.error("no AWS error mapping for %s", type(error).__name__)
            aws = _SERVICE
        if aws.status >= 500:
            return internal_error(error, aws)
        message = str(error)
        summary = getattr(error, "client_message", None)
        if summary:  # the error's own message is host detail, for the operator
            request_id = getattr(g, "request_id", None) or "-"
            log.warning("request %s refused: %s: %s", request_id, type(error).__name__, error)
            message = f"{summary}. Request id: {request_id}."
        return error_response(aws, message, getattr(error, "reason", None))

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(_error):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(
            ERROR_TABLE[errors.RequestTooLarge],
            f"Request must be smaller than {limit} bytes for this operation.",
        )

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        if error.code in (404, 405):
            return error_response(_UNKNOWN_OPERATION, "The requested operation does not exist.")
        return error_response(
            AwsError(f"Http{error.code}", error.code or 400), error.description or ""
        )

    @app.errorhandler(Exception)
    def _unexpected(error):
        return internal_error(error)


def internal_error(error: BaseException, aws: AwsError = _SERVICE) -> Response:
    """A server-side failure. Its detail (database address, S3 endpoint, bucket, blob key,
    traceback) goes to the log only; the client gets the request id to quote, which finds it
    there."""
    request_id = getattr(g, "request_id", None) or "-"
    log.error("request %s failed: %s: %s", request_id, type(error).__name__, error, exc_info=error)
    # An error may say what the client can know (e.g. which isolation limits this host lacks).
    summary = getattr(error, "client_message", None) or "An internal error occurred; retry later"
    return error_response(aws, f"{summary}. Request id: {request_id}.")
