"""The FunctionConfiguration document AWS Lambda answers for a function the tests create, written
once for the conformance cases that compare against it."""

from __future__ import annotations

from tests.conformance.expect import INT, SHA256_B64, TIMESTAMP, UUID, Matches
from tests.support.functions import ROLE, RUNTIME

RUNTIME_VERSION_ARN = Matches(r"arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}")


def configuration(account_id: str, name: str, *, arn_suffix: str = "", **members) -> dict:
    """The document AWS returns for a function made by tests.support.functions.create() with no
    other settings, Active and settled; `members` replace or add members (None removes one)."""
    body = {
        "FunctionName": name,
        "FunctionArn": f"arn:aws:lambda:us-east-1:{account_id}:function:{name}{arn_suffix}",
        "Runtime": RUNTIME,
        "Role": ROLE,
        "Handler": "app.handler",
        "CodeSize": INT,
        "Description": "",
        "Timeout": 5,
        "MemorySize": 128,
        "LastModified": TIMESTAMP,
        "CodeSha256": SHA256_B64,
        "Version": "$LATEST",
        "TracingConfig": {"Mode": "PassThrough"},
        "RevisionId": UUID,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
        "SnapStart": {"ApplyOn": "None", "OptimizationStatus": "Off"},
        "RuntimeVersionConfig": {"RuntimeVersionArn": RUNTIME_VERSION_ARN},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
    }
    body.update(members)
    return {key: value for key, value in body.items() if value is not None}


def listed(document: dict) -> dict:
    """List items leave out the state members and RuntimeVersionConfig, as on AWS."""
    left_out = {
        "State",
        "StateReason",
        "StateReasonCode",
        "LastUpdateStatus",
        "LastUpdateStatusReason",
        "LastUpdateStatusReasonCode",
        "RuntimeVersionConfig",
    }
    return {key: value for key, value in document.items() if key not in left_out}
