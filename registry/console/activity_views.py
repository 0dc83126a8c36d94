"""Activity: a function's recent invocations (from its stored logs) and its duration and errors
over the last hour or day (from its per-minute metrics), and the account's usage per day."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from flask import render_template, request

from registry.api.context import services
from registry.console.activity_chart import Period, layout
from registry.console.blueprint import bp
from registry.console.function_views import check_name
from registry.console.guard import signed_in
from registry.functions.names import parse_function_name
from registry.logs.invocations import recent_invocations
from registry.usage.metrics import NAMESPACE, MetricQuery, datapoints
from registry.usage.report import usage

RECENT_INVOCATIONS = 50
# Each range's span and the period its figures are added up over (seconds).
RANGES = {"hour": (3600, 60), "day": (86400, 1800)}
USAGE_DAYS = 30


@bp.get("/functions/<name>/activity")
@signed_in
def function_activity(caller, name):
    check_name(name)
    ref = parse_function_name(name, region=services().settings.region)
    view = services().functions.get_granted(caller, ref, "lambda:GetFunction")
    chosen = request.args.get("range") if request.args.get("range") in RANGES else "hour"
    span, period = RANGES[chosen]
    end = (int(time.time()) // period + 1) * period
    start = end - span
    periods = _periods(view.account_id, view.name, start, end, period)
    db = services().db
    return render_template(
        "console/function_activity.html",
        view=view,
        invocations=recent_invocations(db, view.account_id, view.name, limit=RECENT_INVOCATIONS),
        logs_stored=services().settings.function_logs,
        ranges=list(RANGES),
        chosen=chosen,
        period_minutes=period // 60,
        periods=periods,
        longest=max((p.maximum_ms for p in periods if p.maximum_ms is not None), default=None),
        chart=layout(periods, start, end, period),
        start=_utc(start),
        end=_utc(end),
        utc=_utc,
    )


@bp.get("/account")
@signed_in
def account(caller):
    since = datetime.now(timezone.utc).date() - timedelta(days=USAGE_DAYS - 1)
    [figures] = usage(services().db, since=since, account_id=caller.account_id)
    return render_template(
        "console/account.html",
        usage=figures,
        days=list(reversed(figures.days)),
        since=since,
        usage_days=USAGE_DAYS,
    )


def _periods(account_id: str, function_name: str, start: int, end: int, period: int):
    def points(metric: str) -> dict:
        query = MetricQuery(NAMESPACE, metric, {"FunctionName": function_name}, start, end, period)
        return {p.timestamp: p for p in datapoints(services().db, account_id, query)}

    invocations, errors, durations = points("Invocations"), points("Errors"), points("Duration")
    found = []
    for at in sorted(invocations.keys() | errors.keys() | durations.keys()):
        duration = durations.get(at)
        found.append(
            Period(
                start=at,
                invocations=int(invocations[at].sum) if at in invocations else 0,
                errors=int(errors[at].sum) if at in errors else 0,
                average_ms=duration.average if duration else None,
                maximum_ms=duration.maximum if duration else None,
            )
        )
    return found


def _utc(at: float) -> datetime:
    return datetime.fromtimestamp(at, timezone.utc)
