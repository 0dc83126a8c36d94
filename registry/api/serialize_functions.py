"""Functions, aliases and provisioned concurrency rendered as the Lambda API's JSON shapes."""

from __future__ import annotations

import hashlib

from registry.api.serialize import aws_timestamp
from registry.functions.event_invoke_config import EventInvokeConfigView
from registry.functions.names import LATEST
from registry.functions.options import log_group
from registry.functions.states import PENDING
from registry.functions.views import AliasView, FunctionSummary, FunctionView
from registry.invocations.provisioned import ProvisionedView


def function_configuration(
    view: FunctionView | FunctionSummary, *, qualified: bool | None = None, listed: bool = False
) -> dict:
    """FunctionConfiguration. The ARN carries the version for published versions (and for
    $LATEST where Lambda qualifies it too, e.g. in ListVersionsByFunction). The items of
    ListFunctions and ListVersionsByFunction are the subset without the state fields and
    RuntimeVersionConfig, as on Lambda."""
    config = view.config
    if qualified is None:
        qualified = view.version != LATEST
    body = {
        "FunctionName": view.name,
        "FunctionArn": view.qualified_arn if qualified else view.arn,
        "Runtime": config["runtime"],
        "Role": config["role"],
        "Handler": config["handler"],
        "CodeSize": view.code_size,
        "Description": config["description"],
        "Timeout": config["timeout"],
        "MemorySize": config["memory_size"],
        "LastModified": aws_timestamp(view.last_modified),
        "CodeSha256": view.code_sha256,
        "Version": view.version,
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": view.revision_id,
        "PackageType": "Zip",
        "Architectures": list(config["architectures"]),
        "EphemeralStorage": {"Size": config["ephemeral_storage"]},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": log_group(view.name)},
    }
    if config.get("environment") is not None:
        body["Environment"] = {"Variables": dict(config["environment"])}
    if view.layers:
        body["Layers"] = [
            {"Arn": layer["arn"], "CodeSize": layer["code_size"]} for layer in view.layers
        ]
    if not listed:
        body["RuntimeVersionConfig"] = {
            "RuntimeVersionArn": runtime_version_arn(view.region, config["runtime"])
        }
        body.update(_states(view))
    return body


def _states(view: FunctionView) -> dict:
    """State with its reasons, and LastUpdateStatus with its reasons, each only when present;
    while a function is being created Lambda shows no LastUpdateStatus."""
    body = {"State": view.state}
    if view.state_reason is not None:
        body |= {"StateReason": view.state_reason, "StateReasonCode": view.state_reason_code}
    if view.state != PENDING:
        body["LastUpdateStatus"] = view.last_update_status
        if view.last_update_status_reason is not None:
            body |= {
                "LastUpdateStatusReason": view.last_update_status_reason,
                "LastUpdateStatusReasonCode": view.last_update_status_reason_code,
            }
    return body


def runtime_version_arn(region: str, runtime: str) -> str:
    """Lambda names the runtime version a function runs on by an ARN ending in a hash; here the
    runtime is the interpreter or bootstrap the server has, so the hash is of its name."""
    digest = hashlib.sha256(f"strata runtime {runtime}".encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def get_function(view: FunctionView, location: str, *, qualified: bool) -> dict:
    body = {
        "Configuration": function_configuration(view, qualified=qualified),
        "Code": {"RepositoryType": "S3", "Location": location},
    }
    if view.tags:
        body["Tags"] = dict(view.tags)
    if view.reserved_concurrency is not None:  # omitted without a reservation, as on Lambda
        body["Concurrency"] = {"ReservedConcurrentExecutions": view.reserved_concurrency}
    return body


def alias_configuration(view: AliasView) -> dict:
    body = {
        "AliasArn": view.arn,
        "Name": view.name,
        "FunctionVersion": view.function_version,
        "Description": view.description,
        "RevisionId": view.revision_id,
    }
    if view.routing:  # Lambda leaves RoutingConfig out for an alias on one version
        body["RoutingConfig"] = {"AdditionalVersionWeights": dict(view.routing)}
    return body


def provisioned_concurrency(view: ProvisionedView, *, listed: bool = False) -> dict:
    """A provisioned concurrency setting; ListProvisionedConcurrencyConfigs' items also name the
    version or alias they are for."""
    body = {"FunctionArn": view.function_arn} if listed else {}
    body["RequestedProvisionedConcurrentExecutions"] = view.requested
    if view.available is not None:
        body["AvailableProvisionedConcurrentExecutions"] = view.available
    body |= {
        "AllocatedProvisionedConcurrentExecutions": view.allocated,
        "Status": view.status,
        # To the second, unlike a function's: 2019-12-31T20:28:49+0000 in Lambda's answers.
        "LastModified": aws_timestamp(view.last_modified)[:19] + "+0000",
    }
    if view.status_reason:
        body["StatusReason"] = view.status_reason
    return body


def event_invoke_config(view: EventInvokeConfigView) -> dict:
    """FunctionEventInvokeConfig. LastModified is epoch seconds here (the model's Date shape),
    unlike a function's; DestinationConfig is always there, an empty object per unset outcome."""
    body = {"LastModified": view.last_modified_epoch, "FunctionArn": view.function_arn}
    if view.maximum_retry_attempts is not None:
        body["MaximumRetryAttempts"] = view.maximum_retry_attempts
    if view.maximum_event_age_seconds is not None:
        body["MaximumEventAgeInSeconds"] = view.maximum_event_age_seconds
    body["DestinationConfig"] = {
        condition: {"Destination": view.destinations[condition]}
        if condition in view.destinations
        else {}
        for condition in ("OnSuccess", "OnFailure")
    }
    return body
