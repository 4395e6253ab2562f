"""What the server has done, for Prometheus (`GET /metrics`, docs/operations.md).

Counters and histograms live in the official client library's registry. With several worker
processes (`serve --workers N`) each process writes its own values to files in the directory
named by `PROMETHEUS_MULTIPROC_DIR`, which `serve` makes for them, and whichever worker answers
`/metrics` sums every process's: the client library's multiprocess mode. Gauges that describe
one process's resources (its database pool) are read when scraped, from the process answering.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST.encode()
# Seconds. Our answers take from a few hundred microseconds (a read on SQLite) to seconds (a
# full listing of a large company): the buckets cover that range, finer at the fast end.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# What a request that matched no route is counted as.
UNKNOWN = "unknown"

# A gauge read when scraped: (name, help, value), the name without our prefix.
Gauge = tuple[str, str, float]
GaugeSource = Callable[[], Awaitable[Iterable[Gauge]]]


class _Gauges(Collector):
    """The gauges read for one scrape, handed to the registry as a collector."""

    def __init__(self, gauges: Iterable[Gauge]) -> None:
        self._gauges = list(gauges)

    def collect(self) -> Iterator[Metric]:
        for name, text, value in self._gauges:
            yield GaugeMetricFamily(f"pathsessions_{name}", text, value=value)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "pathsessions_requests",
            "Requests answered, by operation id and HTTP status.",
            ["operation", "status"],
            registry=self.registry,
        )
        self._duration = Histogram(
            "pathsessions_request_duration_seconds",
            "Time from a request's first byte to its answer's last, by operation id.",
            ["operation"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._refused = Counter(
            "pathsessions_rate_limited",
            "Requests answered 429: over a company's request rate (requests) or its "
            "concurrent full listings (lists).",
            ["limit"],
            registry=self.registry,
        )
        # labels() looks its arguments up each call; the children are kept to pay that once.
        self._counted: dict[tuple[str, int], Callable[[], None]] = {}
        self._timed: dict[str, Callable[[float], None]] = {}
        self._sources: list[GaugeSource] = []

    def observe(self, operation: str | None, status: int, seconds: float) -> None:
        operation = operation or UNKNOWN
        count = self._counted.get((operation, status))
        if count is None:
            count = self._counted[(operation, status)] = self._requests.labels(
                operation, str(status)
            ).inc
        count()
        time = self._timed.get(operation)
        if time is None:
            time = self._timed[operation] = self._duration.labels(operation).observe
        time(seconds)

    def refused(self, limit: str) -> None:
        self._refused.labels(limit).inc()

    def add_gauges(self, source: GaugeSource) -> None:
        """Read `source` at every scrape (the database pool, queues)."""
        self._sources.append(source)

    async def render(self) -> bytes:
        gauges: list[Gauge] = []
        for source in self._sources:
            gauges.extend(await source())
        if os.environ.get(MULTIPROCESS_DIR):
            registry = CollectorRegistry()
            # The library's constructor is not annotated; it registers itself with `registry`.
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry = self.registry
        collector = _Gauges(gauges)
        registry.register(collector)
        try:
            return generate_latest(registry)
        finally:
            registry.unregister(collector)
