"""The timeouts and caps the front holds every connection to."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FrontLimits:
    # A request's line and headers must be complete this many seconds after the connection opens
    # (or after the first byte of a later request on a kept-alive connection).
    header_timeout: float = 10.0
    # The longest a request body, or the client's reading of a response, may go without progress.
    body_timeout: float = 30.0
    # The longest a request's line and headers may be; far above what any SDK sends.
    max_head_bytes: int = 64 * 1024
    # The body a request may declare when the application says nothing about it.
    default_body_bytes: int = 64 * 1024 * 1024
    # Request bodies one worker reads and holds at once, counted by what they declare (a chunked
    # body by the most it may grow to). Past it a body is refused (429) until others are done;
    # one body is always admitted.
    body_budget_bytes: int = 256 * 1024 * 1024
    # How long a closing connection is drained, so the peer reads the last answer rather than a
    # reset.
    linger: float = 2.0
    # How long a draining node goes on accepting (see registry/front/draining.py): longer than a
    # balancer takes to see its readiness probe fail (HAProxy as configured here: 2 checks 1 s
    # apart).
    drain_accept: float = 3.0
