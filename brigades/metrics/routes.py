"""``GET /metrics``: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CollectorRegistry, generate_latest

from brigades import clock
from brigades.deps import SessionDep
from brigades.metrics.access import ScrapeAccess
from brigades.metrics.collector import DatabaseCollector
from brigades.metrics.http import HttpMetrics

router = APIRouter(tags=["operations"])

# The classic text format, which every Prometheus (2.x and 3.x) and agent understands.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, session: SessionDep, _access: ScrapeAccess) -> Response:
    """This process's request metrics and the database gauges."""
    http: HttpMetrics = request.app.state.http_metrics
    scrape = CollectorRegistry(auto_describe=False)
    scrape.register(DatabaseCollector(session, now=clock.now()))
    body = generate_latest(http.registry) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE)
