"""Database tables. The schema is built only by the Alembic migrations in migrations/versions;
tests/test_migrations.py checks that these models and the migrations agree."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
    organization_id: Mapped[str | None] = mapped_column(String(34))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # Executions the account may run at once (GetAccountSettings' ConcurrentExecutions); Lambda's
    # default until `strata accounts set-concurrency-limit` changes it.
    concurrency_limit: Mapped[int] = mapped_column(Integer, server_default="1000")


class AccessKey(Base):
    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    # Sealed by registry.secret_box (never the plaintext): "v1:<key id>:<base64url>".
    secret_access_key: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Layer(Base):
    """A named layer of one account. `latest_version` is the counter versions are drawn from:
    it only goes up, so numbers are never reused, even after deletes."""

    __tablename__ = "layers"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(140))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    versions: Mapped[list[LayerVersion]] = relationship(back_populates="layer")


class LayerVersion(Base):
    """An immutable published version. A deleted version keeps its row (deleted_at set) so that
    functions that reference it keep working and its blob stays referenced."""

    __tablename__ = "layer_versions"
    __table_args__ = (UniqueConstraint("layer_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("layers.id"))
    version: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(String(256), default="")
    license_info: Mapped[str | None] = mapped_column(String(512))
    compatible_runtimes: Mapped[list] = mapped_column(JSON, default=list)
    compatible_architectures: Mapped[list] = mapped_column(JSON, default=list)
    blob_digest: Mapped[str] = mapped_column(String(64), index=True)
    code_size: Mapped[int] = mapped_column(BigInteger)
    unzipped_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    policy_revision: Mapped[str] = mapped_column(String(36))

    layer: Mapped[Layer] = relationship(back_populates="versions")
    grants: Mapped[list[LayerVersionGrant]] = relationship(
        back_populates="layer_version", order_by="LayerVersionGrant.id"
    )


class LayerVersionGrant(Base):
    """One statement of a layer version's resource policy (AddLayerVersionPermission)."""

    __tablename__ = "layer_version_grants"
    __table_args__ = (UniqueConstraint("layer_version_id", "statement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_version_id: Mapped[int] = mapped_column(ForeignKey("layer_versions.id"))
    statement_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(22))
    principal: Mapped[str] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(34))

    layer_version: Mapped[LayerVersion] = relationship(back_populates="grants")


class LambdaStates:
    """Lambda's State and LastUpdateStatus with their reasons, of a function's $LATEST and of
    each version: Pending/InProgress while the bundle is prepared, then Active/Successful or
    Failed."""

    state: Mapped[str] = mapped_column(String(16), server_default="Active")
    state_reason: Mapped[str | None] = mapped_column(String(1024))
    state_reason_code: Mapped[str | None] = mapped_column(String(64))
    # Indexed for the sweep that finds what no process is preparing (every Pending row is
    # InProgress too).
    last_update_status: Mapped[str] = mapped_column(
        String(16), server_default="Successful", index=True
    )
    last_update_status_reason: Mapped[str | None] = mapped_column(String(1024))
    last_update_status_reason_code: Mapped[str | None] = mapped_column(String(64))


class Function(LambdaStates, Base):
    """A function and its mutable $LATEST: code, configuration and layers. `latest_version` is the
    counter published versions are drawn from (never reused while the function exists)."""

    __tablename__ = "functions"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    name: Mapped[str] = mapped_column(String(64))
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    code_digest: Mapped[str] = mapped_column(String(64), index=True)
    code_size: Mapped[int] = mapped_column(BigInteger)
    unzipped_size: Mapped[int] = mapped_column(BigInteger)
    # Runtime, handler, role, memory, timeout, /tmp, environment, architectures, description.
    config: Mapped[dict] = mapped_column(JSON)
    # The attached layer versions in order: id, arn, digest, code_size, unzipped_size.
    layers: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[dict] = mapped_column(JSON, default=dict)
    revision_id: Mapped[str] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # PutFunctionConcurrency: executions only this function may use, and the most it may run at
    # once (None: it shares the account's unreserved concurrency).
    reserved_concurrency: Mapped[int | None] = mapped_column(Integer)
    # The revision invocations run while a change to $LATEST is not applied (registry/functions/
    # serving.py); SQL NULL when they run the row's own.
    running: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))


class FunctionVersion(LambdaStates, Base):
    """An immutable snapshot of a function's $LATEST, including the exact layer versions."""

    __tablename__ = "function_versions"
    __table_args__ = (UniqueConstraint("function_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"))
    version: Mapped[int] = mapped_column(Integer)
    code_digest: Mapped[str] = mapped_column(String(64), index=True)
    code_size: Mapped[int] = mapped_column(BigInteger)
    unzipped_size: Mapped[int] = mapped_column(BigInteger)
    config: Mapped[dict] = mapped_column(JSON)
    layers: Mapped[list] = mapped_column(JSON, default=list)
    revision_id: Mapped[str] = mapped_column(String(36))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FunctionAlias(Base):
    __tablename__ = "function_aliases"
    __table_args__ = (UniqueConstraint("function_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"))
    name: Mapped[str] = mapped_column(String(128))
    function_version: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(256), default="")
    revision_id: Mapped[str] = mapped_column(String(36))
    # RoutingConfig.AdditionalVersionWeights: {version: weight}, or None.
    routing_config: Mapped[dict | None] = mapped_column(JSON)


class ProvisionedConcurrency(Base):
    """Provisioned concurrency of one version or alias: every app process keeps `requested`
    environments of it initialised."""

    __tablename__ = "provisioned_concurrency"
    __table_args__ = (UniqueConstraint("function_id", "qualifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"))
    qualifier: Mapped[str] = mapped_column(String(128))
    requested: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    status_reason: Mapped[str | None] = mapped_column(String(1024))
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FunctionPermission(Base):
    """One statement of a function's (or one of its versions' or aliases') resource policy
    (AddPermission). `qualifier` is "" for the unqualified function's policy."""

    __tablename__ = "function_permissions"
    __table_args__ = (UniqueConstraint("function_id", "qualifier", "statement_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"))
    qualifier: Mapped[str] = mapped_column(String(128))
    statement_id: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(256))
    principal: Mapped[str] = mapped_column(String(256))
    source_arn: Mapped[str | None] = mapped_column(String(1024))
    source_account: Mapped[str | None] = mapped_column(String(12))
    principal_org_id: Mapped[str | None] = mapped_column(String(34))
    event_source_token: Mapped[str | None] = mapped_column(String(256))
    function_url_auth_type: Mapped[str | None] = mapped_column(String(16))


class FunctionEventInvokeConfig(Base):
    """PutFunctionEventInvokeConfig for a function's $LATEST, a version or an alias."""

    __tablename__ = "function_event_invoke_configs"

    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"), primary_key=True)
    qualifier: Mapped[str] = mapped_column(String(128), primary_key=True)
    maximum_retry_attempts: Mapped[int | None] = mapped_column(Integer)
    maximum_event_age_seconds: Mapped[int | None] = mapped_column(Integer)
    destination_config: Mapped[dict | None] = mapped_column(JSON)
    last_modified: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class FunctionEvent(Base):
    """An accepted asynchronous invocation. A worker claims it by setting a lease (epoch seconds),
    so app processes never run it twice at once, and a lease left by a dead process expires."""

    __tablename__ = "function_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    function_id: Mapped[int] = mapped_column(ForeignKey("functions.id"), index=True)
    qualifier: Mapped[str] = mapped_column(String(128))
    request_id: Mapped[str] = mapped_column(String(36))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    client_context: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending, succeeded, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[float] = mapped_column(Float)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ConcurrencyHold(Base):
    """Executions of a function one app process (`holder`, on any node) runs or keeps ready to
    run. Every limit is checked against the sum over holders whose row was renewed recently, so
    the rows a dead process left stop counting on their own."""

    __tablename__ = "concurrency_holds"

    holder: Mapped[str] = mapped_column(String(64), primary_key=True)
    function_id: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    account_id: Mapped[str] = mapped_column(String(12), index=True)
    count: Mapped[int] = mapped_column(Integer)
    renewed_at: Mapped[float] = mapped_column(Float)  # epoch seconds


class FunctionMetric(Base):
    """CloudWatch's AWS/Lambda figures of one function over one period: a minute
    (resolution 60) while recent, an hour (3600) once rolled up. Every server process adds its
    counts to the same row, so the counters only ever grow by increments."""

    __tablename__ = "function_metrics"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    function_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)  # seconds
    period_start: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)  # epoch s
    invocations: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    throttles: Mapped[int] = mapped_column(BigInteger)
    duration_count: Mapped[int] = mapped_column(BigInteger)
    duration_sum: Mapped[float] = mapped_column(Float)  # milliseconds
    duration_min: Mapped[float | None] = mapped_column(Float)
    duration_max: Mapped[float | None] = mapped_column(Float)
    # The most executions of the function one server process ran at once in the period.
    concurrent_max: Mapped[int] = mapped_column(Integer)


class AccountUsageDay(Base):
    """What one account used on one UTC day, as Lambda bills it."""

    __tablename__ = "account_usage_days"

    account_id: Mapped[str] = mapped_column(String(12), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    invocations: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    throttles: Mapped[int] = mapped_column(BigInteger)
    requests: Mapped[int] = mapped_column(BigInteger)  # signed API requests
    billed_duration_ms: Mapped[int] = mapped_column(BigInteger)
    # Memory size (MB) times billed duration (ms), summed: exact, where GB-seconds would round.
    memory_mb_ms: Mapped[int] = mapped_column(BigInteger)
    # The most the account stored that day (each distinct blob once), as sampled: after its
    # writes (at most every 5 s per process) and hourly for every account.
    stored_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")


class LogGroup(Base):
    """A CloudWatch Logs log group of one account (`/aws/lambda/<function>` for a function's
    logs). `retention_days` None keeps events for the default retention (registry/logs)."""

    __tablename__ = "log_groups"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(512))
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    retention_days: Mapped[int | None] = mapped_column(Integer)


class LogStream(Base):
    """A log stream: one per execution environment. `stored_bytes` counts its events' sizes as
    CloudWatch bills them (message bytes + 26), kept up to date by every insert and delete."""

    __tablename__ = "log_streams"
    __table_args__ = (UniqueConstraint("group_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("log_groups.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(512))
    created_at_ms: Mapped[int] = mapped_column(BigInteger)
    first_event_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_event_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_ingestion_ms: Mapped[int | None] = mapped_column(BigInteger)
    stored_bytes: Mapped[int] = mapped_column(BigInteger, server_default="0")


class LogEvent(Base):
    """One log event. Reads walk (group, timestamp, id) or (stream, timestamp, id): a time range
    of a group or of a stream is one index range, in the order pages are served."""

    __tablename__ = "log_events"
    __table_args__ = (
        Index("ix_log_events_group_time", "group_id", "timestamp_ms", "id"),
        Index("ix_log_events_stream_time", "stream_id", "timestamp_ms", "id"),
    )

    # 64-bit on PostgreSQL; on SQLite an INTEGER primary key is the 64-bit rowid already.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    group_id: Mapped[int] = mapped_column(ForeignKey("log_groups.id", ondelete="CASCADE"))
    stream_id: Mapped[int] = mapped_column(ForeignKey("log_streams.id", ondelete="CASCADE"))
    timestamp_ms: Mapped[int] = mapped_column(BigInteger)
    ingestion_ms: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(Integer)  # bytes as stored_bytes counts them
    message: Mapped[str] = mapped_column(Text)


class ConsoleSignOut(Base):
    """When an access key last signed out of the console. The session is a signed cookie, not a
    row, so without this a copy of it (a shared machine, a stolen cookie) would still open the
    console until it expired; every node refuses the key's sessions signed in before this. One
    row per key, whatever its sign-ins and sign-outs."""

    __tablename__ = "console_sign_outs"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    signed_out_ms: Mapped[int] = mapped_column(BigInteger, index=True)  # epoch milliseconds
