"""The HTTP request metrics of one process, labelled by method, route template and status."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import Scope

# Requests that matched no route (scanners, typos) share one label: raw paths would put
# personal link tokens in the labels and grow without bound.
UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Seconds; the sign-up and offer pages answer in milliseconds, exports and imports in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (``/api/v1/tasks/{task_id}``), never the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


def method_label(method: str) -> str:
    """The request method, or ``OTHER`` for anything unusual (bounded label values)."""
    return method if method in METHODS else "OTHER"


class HttpMetrics:
    """Request count and latency of one application, in its own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "zorgbrigade_http_requests",
            "HTTP requests answered by this process.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "zorgbrigade_http_request_duration_seconds",
            "Time from receiving an HTTP request to the end of its response, in this process.",
            ("method", "route", "status"),
            buckets=BUCKETS,
            registry=self.registry,
        )

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        labels = (method_label(method), route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)
