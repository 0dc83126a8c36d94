"""A pool's environments at one moment, by spec, for the metrics (registry/metrics)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpecCensus:
    account_id: str
    function_name: str
    idle: int
    busy: int  # each busy environment is one invocation running
    starting: int


@dataclass(frozen=True)
class PoolCensus:
    specs: list[SpecCensus]
    memory_mb: int  # what the pool's live environments hold of the node's memory budget

    @classmethod
    def of(cls, specs, charged: dict) -> PoolCensus:
        """`specs`: (spec, its environments) pairs, taken under the pool's lock."""
        return cls(
            [
                SpecCensus(
                    spec.account_id, spec.function_name, len(e.idle), len(e.busy), e.starting
                )
                for spec, e in specs
            ],
            sum(charged.values()),
        )
