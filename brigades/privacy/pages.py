"""The privacy statement page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from brigades.deps import SettingsDep
from brigades.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/privacy", response_class=HTMLResponse)
def privacy_statement(request: Request, settings: SettingsDep) -> Response:
    """What is stored, why, how long, and how to have it erased."""
    return render(request, "privacy.html", {"consent_version": settings.consent_version})
