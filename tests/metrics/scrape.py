"""Scraping a server's /metrics as Prometheus would, through prometheus_client's own parser."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families


class Samples:
    def __init__(self, text: str):
        self.text = text
        self._values: dict[tuple[str, frozenset], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self._values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when the series does not exist yet."""
        return self._values.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every series of `name` that has these labels (and maybe others)."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self._values.items() if n == name and wanted <= ls)

    def names(self) -> set[str]:
        return {name for name, _ in self._values}


def get(url: str, token: str | None = None) -> tuple[int, dict, str]:
    """Status, headers and body of a GET on a fresh connection (as each scrape is)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def scrape(base_url: str, token: str | None = None) -> Samples:
    status, _, body = get(f"{base_url}/metrics", token)
    assert status == 200, body
    return Samples(body)


def scrape_until(
    base_url: str, done: Callable[[Samples], bool], timeout: float = 15.0, **kwargs
) -> Samples:
    """Scrapes until `done` holds (figures read from the database are kept a few seconds, and
    gauges of environments are copied every second)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = scrape(base_url, **kwargs)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.25)
