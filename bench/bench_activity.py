"""Console activity benchmark: how long a function's Activity page (its last 50 invocations read
back from its stored logs, and the chart of the last hour or day) and the account's usage page
take once the function has run many times, through a real `strata serve` on SQLite.

    .venv/bin/python bench/bench_activity.py [--invocations 1000] [--requests 30]

Times are measured by the client over one kept-alive session (so they include HTTP), as p50 and
p95 of repeated requests. Goal: every page under 150 ms.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import dev_client, start_strata, stop
from tests.support.functions import handler_zip

GOAL_MS = 150.0
ROWS = 50
HANDLER = handler_zip(
    """
    def handler(event, context):
        print("working on", event)
        return {"ok": True}
    """
)


def timed(session: requests.Session, url: str, count: int) -> tuple[float, float, str]:
    samples, text = [], ""
    for _ in range(count):
        start = time.perf_counter()
        response = session.get(url, allow_redirects=False, timeout=60)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        text = response.text
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invocations", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        process, url = start_strata(Path(data_dir))
        try:
            lam = dev_client(url)
            lam.create_function(
                FunctionName="busy",
                Runtime="python3.11",
                Role="arn:aws:iam::000000000000:role/bench",
                Handler="app.handler",
                Code={"ZipFile": HANDLER},
            )
            lam.get_waiter("function_active_v2").wait(FunctionName="busy")
            started = time.perf_counter()
            for i in range(args.invocations):
                lam.invoke(FunctionName="busy", Payload=json.dumps({"i": i}).encode())
            print(f"{args.invocations} invocations in {time.perf_counter() - started:.0f} s")
            time.sleep(2)  # their logs and usage stored

            session = requests.Session()
            page = session.get(url + "/console/sign-in", timeout=30).text
            token = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page).group(1)
            session.post(
                url + "/console/sign-in",
                data={"csrf_token": token, "access_key_id": "test", "secret_access_key": "test"},
                timeout=30,
            )
            pages = {
                "activity, last hour": f"{url}/console/functions/busy/activity",
                "activity, last day": f"{url}/console/functions/busy/activity?range=day",
                "account usage": f"{url}/console/account",
            }
            print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}")
            for name, address in pages.items():
                p50, p95, text = timed(session, address, args.requests)
                if "activity" in name:
                    assert text.count('data-testid="invocation"') == min(ROWS, args.invocations)
                flag = "" if p95 <= GOAL_MS else "  over the goal"
                print(f"{name:<40} {p50:>8.1f} {p95:>8.1f}{flag}")
        finally:
            stop(process)


if __name__ == "__main__":
    main()
