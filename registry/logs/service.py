"""Function logs as one app process runs them: the store every request reads, and, unless
storage is off, the writer subscribed to invocations and the retention sweep."""

from __future__ import annotations

from registry.config import Settings
from registry.db import Database
from registry.invocations.observers import InvocationObservers
from registry.logs.retention import RetentionSweep
from registry.logs.store import LogStore
from registry.logs.writer import LogWriter


class FunctionLogs:
    def __init__(self, store: LogStore, writer: LogWriter | None, sweep: RetentionSweep):
        self.store = store
        self.writer = writer
        self.sweep = sweep

    @classmethod
    def start(
        cls, settings: Settings, db: Database, observers: InvocationObservers
    ) -> FunctionLogs:
        store = LogStore(db)
        writer = None
        if settings.function_logs:
            writer = LogWriter(store, quota_bytes=settings.function_logs_quota_mb * 1024 * 1024)
            observers.on_ran(writer.submit)  # throttled invocations log nothing, as on Lambda
            writer.start()
        # The sweep runs even with storage off: groups made through the API keep retention.
        sweep = RetentionSweep(
            store,
            interval_s=settings.function_logs_sweep_interval,
            default_days=settings.function_logs_retention_days,
        )
        sweep.start()
        return cls(store, writer, sweep)

    def stop(self) -> None:
        self.sweep.stop()
        if self.writer is not None:
            self.writer.stop()
