"""One server's gunicorn workers, counted as one: prometheus_client's multiprocess mode.

Each worker writes its figures into memory-mapped files in a directory the whole server shares,
and the worker that answers a scrape adds them all up. The directory must be named in the
environment before any worker imports prometheus_client, so the master prepares it (from the
front worker's `check_config`, which gunicorn calls in the master whether `strata serve` or a
plain `gunicorn app:app` started it). It is `metrics/` in the server's data directory (private
to the server, like its memory ledger) unless PROMETHEUS_MULTIPROC_DIR names another, and starts
empty, so figures of an earlier run never come back. When a worker exits, its live gauges are
dropped (gunicorn's `child_exit` hook), while its counters and histograms stay counted.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

_prepared_by: int | None = None  # the master that prepared the directory


def prepare_master(cfg) -> None:
    """Called in gunicorn's master before any worker forks (the front worker's check_config)."""
    prepare()
    install_child_exit(cfg)


def prepare(environ=os.environ) -> Path:
    """Names and empties the directory, once per master (a reload keeps the figures)."""
    global _prepared_by
    if _prepared_by == os.getpid():
        return Path(environ[VARIABLE])
    named = environ.get(VARIABLE, "").strip()
    directory = Path(named) if named else _in_data_dir(environ)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink(missing_ok=True)
    environ[VARIABLE] = str(directory.resolve())
    _prepared_by = os.getpid()
    _use_files_if_already_imported()
    return directory


def install_child_exit(cfg) -> None:
    """Chains a `child_exit` hook that drops an exited worker's live gauges."""
    previous = cfg.child_exit
    if getattr(previous, "drops_metrics", False):
        return

    def child_exit(server, worker):
        previous(server, worker)
        worker_exited(worker.pid)

    child_exit.drops_metrics = True
    cfg.set("child_exit", child_exit)


def worker_exited(pid: int) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)


def enabled() -> bool:
    return bool(os.environ.get(VARIABLE))


def _use_files_if_already_imported() -> None:
    """prometheus_client picks its value store at import: one imported before the directory was
    named (by a hook in the master) would hand forked workers in-memory values."""
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        values.ValueClass = values.get_value_class()


def _in_data_dir(environ) -> Path:
    from registry.config import Settings

    return Settings.from_env(environ).data_dir / "metrics"
