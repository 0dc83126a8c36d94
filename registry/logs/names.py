"""Names and ARNs of log groups and streams, as Lambda and CloudWatch Logs make them."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from registry.logs.errors import LogInvalidParameter, LogResourceNotFound

LAMBDA_GROUP_PREFIX = "/aws/lambda/"
GROUP_NOT_FOUND = "The specified log group does not exist."
STREAM_NOT_FOUND = "The specified log stream does not exist."
_GROUP_NAME = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
# An environment id made safe for a stream name: only hex digits, as Lambda's stream ids are.
_NOT_HEX = re.compile(r"[^0-9a-f]")


def function_group(function_name: str) -> str:
    return LAMBDA_GROUP_PREFIX + function_name


def stream_name(version: str, environment_id: str, started_at: float) -> str:
    """`YYYY/MM/DD/[VERSION]<id>`: the day the environment first logged, the version it runs
    and its id as 32 hex digits (a Lambda stream id's length)."""
    day = datetime.fromtimestamp(started_at, timezone.utc).strftime("%Y/%m/%d")
    hex_id = _NOT_HEX.sub("", environment_id.lower())
    # Ids of the form "<pid>-<hex>" keep every digit; pad or cut to Lambda's 32.
    return f"{day}/[{version}]{hex_id[-32:].rjust(32, '0')}"


def group_arn(region: str, account_id: str, name: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:{name}:*"


def stream_arn(region: str, account_id: str, group: str, stream: str) -> str:
    return f"arn:aws:logs:{region}:{account_id}:log-group:{group}:log-stream:{stream}"


def check_group_name(name: str) -> str:
    if not _GROUP_NAME.fullmatch(name or ""):
        raise LogInvalidParameter(
            f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+"
        )
    return name


def group_from_identifier(identifier: str, account_id: str) -> str:
    """A logGroupIdentifier's group name: the name itself, or an ARN of the caller's account
    (another account's ARN names nothing the caller may read)."""
    if not identifier.startswith("arn:"):
        return check_group_name(identifier)
    parts = identifier.split(":", 6)
    if len(parts) < 7 or parts[2] != "logs" or parts[5] != "log-group":
        raise LogInvalidParameter(f"Invalid log group identifier: {identifier}")
    if parts[4] != account_id:
        raise LogResourceNotFound(GROUP_NOT_FOUND)
    return check_group_name(parts[6].removesuffix(":*"))
