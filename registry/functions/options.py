"""Configuration members of Create/UpdateFunctionConfiguration that Strata accepts only with the
values under which a function runs as Strata runs it.

Lambda's defaults (tracing PassThrough, Text logs in /aws/lambda/NAME, no SnapStart, no VPC, no
file systems, no dead-letter queue, no customer KMS key) describe what Strata does, so they are
accepted and the function answers with them. Anything else would promise behaviour Strata lacks
(X-Ray traces, JSON logs, a queue that never receives), so it is refused, saying so, rather than
stored and silently ignored.
"""

from __future__ import annotations

from registry.errors import InvalidParameterValue

TRACING_MODES = ("Active", "PassThrough")
LOG_FORMATS = ("JSON", "Text")
SNAP_START_APPLY_ON = ("PublishedVersions", "None")


def log_group(function_name: str) -> str:
    return f"/aws/lambda/{function_name}"


def check(options: dict, function_name: str) -> None:
    """`options` maps these members, as the request names them, to the values it sent (None when
    absent)."""
    for member, value in options.items():
        if value is not None:
            _CHECKS[member](value, function_name)


def _unsupported(what: str, instead: str) -> InvalidParameterValue:
    return InvalidParameterValue(f"Strata does not support {what}; {instead}.")


def _object(member: str, value) -> dict:
    if not isinstance(value, dict):
        raise InvalidParameterValue(f"{member} must be an object.")
    return value


def _one_of(field: str, value, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidParameterValue(
            f"Value {value!r} at '{field}' failed to satisfy constraint: Member must satisfy "
            f"enum value set: [{', '.join(allowed)}]"
        )
    return value


def _tracing(value, _name: str) -> None:
    mode = _object("TracingConfig", value).get("Mode")
    if mode is not None and _one_of("tracingConfig.mode", mode, TRACING_MODES) == "Active":
        raise _unsupported("X-Ray tracing (TracingConfig Mode Active)", "use PassThrough")


def _logging(value, name: str) -> None:
    config = _object("LoggingConfig", value)
    log_format = config.get("LogFormat")
    if log_format is not None:
        _one_of("loggingConfig.logFormat", log_format, LOG_FORMATS)
        if log_format == "JSON":
            raise _unsupported("JSON logs (LoggingConfig LogFormat JSON)", "use Text")
    for level in ("ApplicationLogLevel", "SystemLogLevel"):
        if config.get(level) is not None:
            raise _unsupported(
                f"log level filtering (LoggingConfig {level})", "it applies to JSON logs only"
            )
    group = config.get("LogGroup")
    if group is not None and group != log_group(name):
        raise _unsupported(
            f"a custom log group ({group!r})", f"function logs are kept in {log_group(name)}"
        )


def _snap_start(value, _name: str) -> None:
    apply_on = _object("SnapStart", value).get("ApplyOn")
    if (
        apply_on is not None
        and _one_of("snapStart.applyOn", apply_on, SNAP_START_APPLY_ON) == "PublishedVersions"
    ):
        raise _unsupported("SnapStart (ApplyOn PublishedVersions)", "use None")


def _dead_letter(value, _name: str) -> None:
    if _object("DeadLetterConfig", value).get("TargetArn"):
        raise _unsupported(
            "dead-letter queues (DeadLetterConfig TargetArn)",
            "failed asynchronous invocations are recorded by the server",
        )


def _kms_key(value, _name: str) -> None:
    if value:
        raise _unsupported(
            "customer KMS keys (KMSKeyArn)", "environment variables are encrypted by the server"
        )


def _vpc(value, _name: str) -> None:
    config = _object("VpcConfig", value)
    if config.get("SubnetIds") or config.get("SecurityGroupIds"):
        raise _unsupported(
            "VPC networking (VpcConfig)", "leave SubnetIds and SecurityGroupIds empty"
        )


def _file_systems(value, _name: str) -> None:
    if not isinstance(value, list):
        raise InvalidParameterValue("FileSystemConfigs must be a list.")
    if value:
        raise _unsupported("file system mounts (FileSystemConfigs)", "use /tmp or a layer")


def _image(value, _name: str) -> None:
    if _object("ImageConfig", value):
        raise _unsupported(
            "ImageConfig", "it applies to container images, and functions here are Zip packages"
        )


def _code_signing(value, _name: str) -> None:
    if value:
        raise _unsupported("code signing (CodeSigningConfigArn)", "leave it out")


_CHECKS = {
    "TracingConfig": _tracing,
    "LoggingConfig": _logging,
    "SnapStart": _snap_start,
    "DeadLetterConfig": _dead_letter,
    "KMSKeyArn": _kms_key,
    "VpcConfig": _vpc,
    "FileSystemConfigs": _file_systems,
    "ImageConfig": _image,
    "CodeSigningConfigArn": _code_signing,
}
MEMBERS = tuple(_CHECKS)
