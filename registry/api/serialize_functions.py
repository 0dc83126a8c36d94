"""Functions, aliases and provisioned concurrency rendered as the Lambda API's JSON shapes."""

from __future__ import annotations

from registry.api.serialize import aws_timestamp
from registry.functions.names import LATEST
from registry.functions.views import AliasView, FunctionSummary, FunctionView
from registry.invocations.provisioned import ProvisionedView


def function_configuration(
    view: FunctionView | FunctionSummary, *, qualified: bool | None = None, listed: bool = False
) -> dict:
    """FunctionConfiguration. The ARN carries the version for published versions (and for
    $LATEST where Lambda qualifies it too, e.g. in ListVersionsByFunction). ListFunctions items
    are the subset without the state fields, as on Lambda."""
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
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{view.name}"},
    }
    if config["environment"]:
        body["Environment"] = {"Variables": dict(config["environment"])}
    if view.layers:
        body["Layers"] = [
            {"Arn": layer["arn"], "CodeSize": layer["code_size"]} for layer in view.layers
        ]
    if not listed:
        body.update(State="Active", LastUpdateStatus="Successful")
    return body


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
    return {
        "AliasArn": view.arn,
        "Name": view.name,
        "FunctionVersion": view.function_version,
        "Description": view.description,
        "RevisionId": view.revision_id,
    }


def provisioned_concurrency(view: ProvisionedView, *, listed: bool = False) -> dict:
    """A provisioned concurrency setting; ListProvisionedConcurrencyConfigs' items also name the
    version or alias they are for."""
    body = {"FunctionArn": view.function_arn} if listed else {}
    body |= {
        "RequestedProvisionedConcurrentExecutions": view.requested,
        "AvailableProvisionedConcurrentExecutions": view.available,
        "AllocatedProvisionedConcurrentExecutions": view.available,
        "Status": view.status,
        "LastModified": aws_timestamp(view.last_modified),
    }
    if view.status_reason:
        body["StatusReason"] = view.status_reason
    return body
