"""A function version and an alias as the API shows them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from registry.archives import code_sha256
from registry.functions.names import function_arn


@dataclass(frozen=True)
class FunctionView:
    """One version of a function ($LATEST or a published number) as the API shows it."""

    region: str
    account_id: str
    function_id: int
    name: str
    version: str
    code_digest: str
    code_size: int
    unzipped_size: int
    config: dict
    layers: list
    revision_id: str
    last_modified: datetime
    tags: dict = field(default_factory=dict)
    # The function's (every version's) reserved concurrency; None when it reserves none.
    reserved_concurrency: int | None = None
    # Lambda's State and LastUpdateStatus with their reasons (registry/functions/states.py).
    state: str = "Active"
    state_reason: str | None = None
    state_reason_code: str | None = None
    last_update_status: str = "Successful"
    last_update_status_reason: str | None = None
    last_update_status_reason_code: str | None = None

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name)

    @property
    def qualified_arn(self) -> str:
        return function_arn(self.region, self.account_id, self.name, self.version)

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.code_digest)


@dataclass(slots=True)
class FunctionSummary:
    """$LATEST or a published version as ListFunctions shows it. Not frozen: a page builds fifty
    of these, and a frozen dataclass's __init__ costs several times a plain one's."""

    arn: str  # unqualified
    name: str
    version: str
    code_digest: str
    code_size: int
    config: dict
    layers: list
    revision_id: str
    last_modified: datetime

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.version}"

    @property
    def code_sha256(self) -> str:
        return code_sha256(self.code_digest)


@dataclass(frozen=True)
class AliasView:
    region: str
    account_id: str
    function_name: str
    name: str
    function_version: str
    description: str
    revision_id: str
    # AdditionalVersionWeights ({version: weight}); None when the alias routes to one version.
    routing: dict | None = None

    @property
    def arn(self) -> str:
        return function_arn(self.region, self.account_id, self.function_name, self.name)
