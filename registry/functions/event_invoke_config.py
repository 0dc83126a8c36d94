"""Asynchronous invocation configuration (Put/Get/Update/Delete/ListFunctionEventInvokeConfigs):
how often the Event queue retries a version's or alias's failed events, how old an event may grow
before it is dropped, and where the record of each outcome goes.

A setting belongs to what the caller names: the unqualified function means $LATEST, a version
number that version, an alias that alias (an event invoked through the alias follows the alias's
setting, whichever version it points at).

Strata delivers invocation records to Lambda functions of the same account only; SQS, SNS,
EventBridge and S3 destinations are refused rather than stored and silently never delivered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from registry.accounts import Caller
from registry.db import stored_utc
from registry.errors import ConstraintViolation, InvalidParameterValue, ResourceNotFound
from registry.functions.names import LATEST, VERSION, FunctionRef, function_arn
from registry.functions.rows import FunctionRows
from registry.models import Function, FunctionEventInvokeConfig
from registry.paging import Page, decode_marker, first_page

DEFAULT_RETRY_ATTEMPTS = 2  # Lambda retries a failed event twice unless told otherwise
MAX_RETRY_ATTEMPTS = 2
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 21600  # six hours, also the default
MAX_LIST_ITEMS = 50
_DESTINATION = re.compile(
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?"
    r":(\d{12})?:(.*)"
)
_FUNCTION_DESTINATION = re.compile(
    r"arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:"
    r"(?P<name>[a-zA-Z0-9-_]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?"
)
_CONDITIONS = ("OnSuccess", "OnFailure")


@dataclass(frozen=True)
class EventInvokeConfigView:
    function_arn: str  # qualified: $LATEST, the version or the alias
    maximum_retry_attempts: int | None
    maximum_event_age_seconds: int | None
    destinations: dict  # OnSuccess/OnFailure -> destination ARN, only those set
    last_modified: datetime

    @property
    def last_modified_epoch(self) -> float:
        return round(stored_utc(self.last_modified).timestamp(), 3)


@dataclass(frozen=True)
class RetryPolicy:
    """What the Event queue applies to one event."""

    max_attempts: int  # the first run and the retries
    max_age_seconds: int
    destinations: dict  # as in EventInvokeConfigView


DEFAULT_POLICY = RetryPolicy(DEFAULT_RETRY_ATTEMPTS + 1, MAX_EVENT_AGE_SECONDS, {})


def retry_policy(session, function_id: int, qualifier: str) -> RetryPolicy:
    """The policy of events invoked through `qualifier` ($LATEST, a version or an alias)."""
    row = session.get(FunctionEventInvokeConfig, (function_id, qualifier))
    if row is None:
        return DEFAULT_POLICY
    retries = row.maximum_retry_attempts
    age = row.maximum_event_age_seconds
    return RetryPolicy(
        (DEFAULT_RETRY_ATTEMPTS if retries is None else retries) + 1,
        MAX_EVENT_AGE_SECONDS if age is None else age,
        dict(row.destination_config or {}),
    )


def parse_function_destination(arn: str) -> FunctionRef | None:
    """The function a stored destination names (every stored destination is one)."""
    match = _FUNCTION_DESTINATION.fullmatch(arn)
    if match is None:
        return None
    return FunctionRef(match["name"], match["account"], match["qualifier"])


class EventInvokeConfigs(FunctionRows):
    def put_event_invoke_config(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        retries=None,
        max_age=None,
        destinations: dict | None = None,
    ) -> EventInvokeConfigView:
        """Replaces the setting: what is not given goes back to Lambda's default."""
        self._require_own(caller, ref, "lambda:PutFunctionEventInvokeConfig")
        _require_some(retries, max_age, destinations)
        with self._db.write() as session:
            row, qualifier = self._configurable(session, caller, ref)
            found = self._check_destinations(session, caller, row, destinations)
            config = session.get(FunctionEventInvokeConfig, (row.id, qualifier))
            if config is None:
                config = FunctionEventInvokeConfig(function_id=row.id, qualifier=qualifier)
                session.add(config)
            config.maximum_retry_attempts = _retries(retries)
            config.maximum_event_age_seconds = _max_age(max_age)
            config.destination_config = found
            config.last_modified = datetime.now(timezone.utc)
            return self._config_view(row, config)

    def update_event_invoke_config(
        self,
        caller: Caller,
        ref: FunctionRef,
        *,
        retries=None,
        max_age=None,
        destinations: dict | None = None,
    ) -> EventInvokeConfigView:
        """Changes only what is given; the setting must exist."""
        self._require_own(caller, ref, "lambda:UpdateFunctionEventInvokeConfig")
        _require_some(retries, max_age, destinations)
        with self._db.write() as session:
            row, qualifier = self._configurable(session, caller, ref)
            config = self._config_row(session, row, qualifier)
            if retries is not None:
                config.maximum_retry_attempts = _retries(retries)
            if max_age is not None:
                config.maximum_event_age_seconds = _max_age(max_age)
            if destinations is not None:
                merged = dict(config.destination_config or {})
                for condition in _CONDITIONS:
                    if condition in destinations:
                        merged.pop(condition, None)
                merged |= self._check_destinations(session, caller, row, destinations)
                config.destination_config = merged
            config.last_modified = datetime.now(timezone.utc)
            return self._config_view(row, config)

    def get_event_invoke_config(self, caller: Caller, ref: FunctionRef) -> EventInvokeConfigView:
        self._require_own(caller, ref, "lambda:GetFunctionEventInvokeConfig")
        with self._db.read() as session:
            row = self._config_function(session, caller, ref)
            config = self._config_row(session, row, ref.qualifier or LATEST)
            return self._config_view(row, config)

    def delete_event_invoke_config(self, caller: Caller, ref: FunctionRef) -> None:
        self._require_own(caller, ref, "lambda:DeleteFunctionEventInvokeConfig")
        with self._db.write() as session:
            row = self._config_function(session, caller, ref)
            session.delete(self._config_row(session, row, ref.qualifier or LATEST))

    def list_event_invoke_configs(
        self, caller: Caller, ref: FunctionRef, *, marker: str | None, max_items: int
    ) -> Page:
        """A function's settings: $LATEST's, then its versions' by number, then its aliases' by
        name; the marker is the last item's qualifier."""
        self._require_own(caller, ref, "lambda:ListFunctionEventInvokeConfigs")
        after = decode_marker(marker)
        with self._db.read() as session:
            row = self._function_row_or(session, caller, ref.name, _NO_FUNCTION)
            configs = sorted(
                session.scalars(
                    select(FunctionEventInvokeConfig).where(
                        FunctionEventInvokeConfig.function_id == row.id
                    )
                ),
                key=lambda config: _order(config.qualifier),
            )
            if after is not None:
                configs = [c for c in configs if _order(c.qualifier) > _order(after)]
            views = [self._config_view(row, config) for config in configs[: max_items + 1]]
        return first_page(views, max_items, key=lambda view: view.function_arn.rsplit(":", 1)[1])

    # -- helpers ---------------------------------------------------------------------------------

    def _configurable(self, session, caller: Caller, ref: FunctionRef) -> tuple[Function, str]:
        """The function and the qualifier a Put or Update names, which must exist."""
        row = self._function_row_or(session, caller, ref.name, _NO_FUNCTION, lock=True)
        qualifier = ref.qualifier or LATEST
        if qualifier == LATEST:
            return row, qualifier
        if self._qualified_row(session, row, qualifier) is None:
            raise ResourceNotFound(_NO_FUNCTION)
        return row, qualifier

    def _config_function(self, session, caller: Caller, ref: FunctionRef) -> Function:
        """Get and Delete name a missing function as they name a missing setting."""
        return self._function_row_or(
            session, caller, ref.name, _no_config(self._config_arn(caller, ref))
        )

    def _function_row_or(
        self, session, caller: Caller, name: str, message: str, *, lock: bool = False
    ) -> Function:
        query = select(Function).where(
            Function.account_id == caller.account_id, Function.name == name
        )
        row = session.scalar(query.with_for_update() if lock else query)
        if row is None:
            raise ResourceNotFound(message)
        return row

    def _config_row(self, session, row: Function, qualifier: str) -> FunctionEventInvokeConfig:
        config = session.get(FunctionEventInvokeConfig, (row.id, qualifier))
        if config is None:
            raise ResourceNotFound(
                _no_config(function_arn(self._region, row.account_id, row.name, qualifier))
            )
        return config

    def _config_arn(self, caller: Caller, ref: FunctionRef) -> str:
        return function_arn(self._region, caller.account_id, ref.name, ref.qualifier or LATEST)

    def _config_view(
        self, row: Function, config: FunctionEventInvokeConfig
    ) -> EventInvokeConfigView:
        return EventInvokeConfigView(
            function_arn=function_arn(self._region, row.account_id, row.name, config.qualifier),
            maximum_retry_attempts=config.maximum_retry_attempts,
            maximum_event_age_seconds=config.maximum_event_age_seconds,
            destinations=dict(config.destination_config or {}),
            last_modified=config.last_modified,
        )

    def _check_destinations(
        self, session, caller: Caller, row: Function, destinations: dict | None
    ) -> dict:
        """The destinations given, each a Lambda function of the caller's account other than this
        one; an empty Destination sets none."""
        found = {}
        for condition in _CONDITIONS:
            arn = (destinations or {}).get(condition)
            if not arn:
                continue
            if not _DESTINATION.fullmatch(arn):
                raise ConstraintViolation(
                    arn,
                    f"destinationConfig.{condition[0].lower()}{condition[1:]}.destination",
                    "Member must satisfy regular expression pattern: "
                    r"^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso(b?)))?"
                    r"-[a-z]+-\d{1})?:(\d{12})?:(.*)",
                )
            target = parse_function_destination(arn)
            if target is None or arn.split(":")[3] != self._region:
                raise InvalidParameterValue(
                    f"The destination ARN {arn} is not supported: this server delivers "
                    "asynchronous invocation records only to Lambda functions of the same "
                    "account and region (not to SQS, SNS, EventBridge or S3)."
                )
            if target.account_id != caller.account_id:
                raise InvalidParameterValue(
                    f"The destination ARN {arn} is not supported: this server delivers "
                    "asynchronous invocation records only to functions of the same account."
                )
            if target.name == row.name:
                raise InvalidParameterValue(
                    "You can't specify the function as a destination for itself."
                )
            exists = session.scalar(
                select(Function.id).where(
                    Function.account_id == caller.account_id, Function.name == target.name
                )
            )
            if exists is None:
                raise InvalidParameterValue(f"The destination ARN {arn} is invalid.")
            found[condition] = arn
        return found


_NO_FUNCTION = "The function doesn't exist."


def _no_config(arn: str) -> str:
    return f"The function {arn} doesn't have an EventInvokeConfig"


def _require_some(retries, max_age, destinations) -> None:
    if retries is None and max_age is None and destinations is None:
        raise InvalidParameterValue(
            "You must specify at least one of error handling or destination setting."
        )


def _retries(value) -> int | None:
    return _bounded(value, "maximumRetryAttempts", 0, MAX_RETRY_ATTEMPTS)


def _max_age(value) -> int | None:
    return _bounded(value, "maximumEventAgeInSeconds", MIN_EVENT_AGE_SECONDS, MAX_EVENT_AGE_SECONDS)


def _bounded(value, field: str, low: int, high: int) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidParameterValue(f"{field[0].upper()}{field[1:]} must be a whole number.")
    if value < low:
        raise ConstraintViolation(
            value, field, f"Member must have value greater than or equal to {low}"
        )
    if value > high:
        raise ConstraintViolation(
            value, field, f"Member must have value less than or equal to {high}"
        )
    return value


def _order(qualifier: str) -> tuple:
    if qualifier == LATEST:
        return (0, 0, "")
    if VERSION.fullmatch(qualifier):
        return (1, int(qualifier), "")
    return (2, 0, qualifier)
