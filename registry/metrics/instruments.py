"""Every metric the server records, in one place: names, help texts, labels and buckets.

Names follow Prometheus conventions: a `strata_` prefix, base units (seconds, bytes) in the name,
`_total` on counters (added by the client library). Labels are bounded: `operation` by the Lambda
API's model and the registered routes (labels.py caps the rest), `account` by the accounts an
operator creates, `function` by what an account creates, capped per process (labels.py).

Gauges say how the workers' values add up: `livesum` over the live workers of the server.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# Lambda's durations run from a millisecond to its 900-second timeout.
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
_INIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

HTTP_REQUESTS = Counter(
    "strata_http_requests",
    "HTTP requests answered, by service (lambda, another AWS service served at the same "
    "endpoint, or strata for the extension endpoints), operation and status code: by the "
    "application, or by the front for an invocation past its invocation threads (429) and a "
    "draining worker's readiness probe (503).",
    ["service", "operation", "status"],
)
FRONT_REFUSALS = Counter(
    "strata_front_refusals",
    "Requests the front answered before it had read them whole, so no operation is known: "
    "timeout (408, the head or body stalled past its deadline), too_large (414 or 431, the "
    "request line or head past its cap) and malformed (400, a head or chunked body that does "
    "not parse).",
    ["reason"],
)
HTTP_DURATION = Histogram(
    "strata_http_request_duration_seconds",
    "Time from a request's arrival at the application to its response, by operation.",
    ["service", "operation"],
    buckets=_HTTP_BUCKETS,
)

INVOCATIONS = Counter(
    "strata_invocations",
    "Invocations that ran (throttled ones are not counted, as on Lambda), by function and "
    "invocation type.",
    ["account", "function", "invocation_type"],
)
INVOCATION_ERRORS = Counter(
    "strata_invocation_errors",
    "Invocations that did not succeed, by function and outcome: function_error, timeout, "
    "out_of_memory, runtime_exit or init_error.",
    ["account", "function", "outcome"],
)
THROTTLES = Counter(
    "strata_throttles",
    "Invocations refused for want of concurrency (429 TooManyRequestsException), by function and "
    "Lambda's Reason.",
    ["account", "function", "reason"],
)
STARTS = Counter(
    "strata_invocation_starts",
    "Invocations by how their environment started: cold (initialised for it) or warm.",
    ["account", "function", "start"],
)
DURATION = Histogram(
    "strata_invocation_duration_seconds",
    "Duration of invocations as their REPORT line gives it (init excluded), by function.",
    ["account", "function"],
    buckets=_DURATION_BUCKETS,
)
INIT_DURATION = Histogram(
    "strata_invocation_init_duration_seconds",
    "Init Duration of cold starts as their REPORT line gives it, by function.",
    ["account", "function"],
    buckets=_INIT_BUCKETS,
)

CONCURRENT_EXECUTIONS = Gauge(
    "strata_concurrent_executions",
    "Invocations running on this node now, by function.",
    ["account", "function"],
    multiprocess_mode="livesum",
)
ENVIRONMENTS = Gauge(
    "strata_environments",
    "Execution environments alive on this node, by state: busy, idle or starting.",
    ["state"],
    multiprocess_mode="livesum",
)
ENVIRONMENT_MEMORY = Gauge(
    "strata_environments_memory_bytes",
    "Memory the live execution environments of this node hold of its budget (their memory "
    "sizes, and /tmp where it lives in RAM outside their limit).",
    multiprocess_mode="livesum",
)

MERGE_CACHE = Counter(
    "strata_merge_cache_requests",
    "Requests for the merged bundle of a code and its layers: hit (built before, reused) or miss "
    "(merged now).",
    ["result"],
)
PUBLISHES = Counter(
    "strata_publishes",
    "Successful publishes by account and kind: layer_version (PublishLayerVersion), "
    "function_code (CreateFunction, UpdateFunctionCode) or function_version (PublishVersion).",
    ["account", "kind"],
)
