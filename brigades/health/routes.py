"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from brigades.deps import SessionDep
from brigades.health import service

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Process alive")
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database reachable and migrations at head",
    responses={503: {"description": "Not ready"}},
)
def readyz(session: SessionDep) -> JSONResponse:
    """Ready when the database answers and its schema is at the newest migration."""
    report = service.readiness(session)
    return JSONResponse(report.as_dict(), status_code=200 if report.ready else 503)
