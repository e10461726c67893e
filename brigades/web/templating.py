"""Jinja2 set-up for the HTML pages: one environment, Dutch formatting helpers, CSRF."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from brigades import clock
from brigades.settings import project_root
from brigades.web import csrf

WEEKDAYS_NL = ["maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"]

templates = Jinja2Templates(directory=str(project_root() / "templates"))


def _local_time(moment: datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    return "" if moment is None else clock.format_local(moment, fmt)


def _minutes(value: int) -> str:
    return f"{value // 60:02d}:{value % 60:02d}"


templates.env.filters["local_time"] = _local_time
templates.env.filters["hhmm"] = _minutes
templates.env.globals["WEEKDAYS_NL"] = WEEKDAYS_NL


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """Render a page with the CSRF token and the shared context."""
    ctx: dict[str, Any] = {"csrf_token": csrf.token_for(request)}
    ctx.update(context or {})
    response = templates.TemplateResponse(request, name, ctx, status_code=status_code)
    csrf.ensure_cookie(request, response)
    return response
