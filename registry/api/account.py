"""The account's own settings (GetAccountSettings, under /2016-08-19/account-settings)."""

from __future__ import annotations

from flask import Blueprint, g

from registry.account_settings import account_settings
from registry.api.context import services
from registry.api.responses import json_response
from registry.limits import CODE_STORAGE_QUOTA_BYTES, MAX_DIRECT_UPLOAD_BYTES, MAX_UNZIPPED_BYTES

bp = Blueprint("account", __name__)


# Lambda documents the path with a trailing slash; the SDKs send it without one.
@bp.get("/2016-08-19/account-settings/", strict_slashes=False)
def get_account_settings():
    settings = account_settings(services().db, g.caller.account_id)
    return json_response(
        {
            "AccountLimit": {
                "TotalCodeSize": CODE_STORAGE_QUOTA_BYTES,
                "CodeSizeUnzipped": MAX_UNZIPPED_BYTES,
                "CodeSizeZipped": MAX_DIRECT_UPLOAD_BYTES,
                "ConcurrentExecutions": settings.concurrency_limit,
                "UnreservedConcurrentExecutions": settings.unreserved_concurrency,
            },
            "AccountUsage": {
                "TotalCodeSize": settings.code_size_used,
                "FunctionCount": settings.function_count,
            },
        }
    )
