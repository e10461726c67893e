"""Who may use the development tools."""

from __future__ import annotations

from fastapi import Request

from brigades.deps import get_settings
from brigades.errors import NotFound
from brigades.settings import Settings


def dev_tools_allowed(settings: Settings, request: Request) -> bool:
    """Whether this request may use the phone simulator.

    Today: only a development environment. The hook for drill leads (a later issue) is here:
    allow a signed-in GGD-GHOR drill lead during a drill, looked up from ``request``.
    """
    return settings.dev_tools_enabled


def require_dev_tools(request: Request) -> None:
    """Pretend the development tools do not exist (404) for everyone not allowed to use them."""
    if not dev_tools_allowed(get_settings(request), request):
        raise NotFound("Deze pagina bestaat niet.")
