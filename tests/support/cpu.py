"""CPU time a host uid's processes consumed, read from /proc (works for any uid, as root)."""

from __future__ import annotations

import os
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")

# A handler that, asked to spin, leaves a detached busy loop behind (setsid + double fork), as an
# attacker would to mine on a core; it may also sleep, and it returns its uid.
SPINNER_SOURCE = """
    import os, time
    def handler(event, context):
        if event.get("spin"):
            if os.fork() == 0:
                os.setsid()
                if os.fork() == 0:
                    while True:
                        pass
                os._exit(0)
            os.wait()
        time.sleep(event.get("sleep", 0))
        return {"uid": os.getuid()}
"""


def cpu_seconds_of_uid(uid: int) -> float:
    """utime + stime summed over the live processes whose real or effective uid is `uid`."""
    ticks = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            status = (proc / "status").read_text()
            uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()
            if str(uid) not in uids[1:3]:
                continue
            fields = (proc / "stat").read_text().rpartition(")")[2].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, StopIteration, IndexError, ValueError):
            pass
    return ticks / _TICKS


def pids_of_uid(uid: int) -> list[int]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            lines = (proc / "status").read_text().splitlines()
        except OSError:
            continue
        state = next((line.split()[1] for line in lines if line.startswith("State:")), "Z")
        uids = next((line.split() for line in lines if line.startswith("Uid:")), [])
        if state not in ("Z", "X") and str(uid) in uids[1:3]:
            found.append(int(proc.name))
    return found
