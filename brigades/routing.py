"""Which routers and background services an app has, depending on its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from sqlalchemy import Engine

from brigades import runtime
from brigades.dev.pages import router as dev_pages_router
from brigades.health.routes import router as health_router
from brigades.privacy.pages import router as privacy_pages_router
from brigades.settings import Settings
from brigades.skills.routes import router as skills_router
from brigades.supportpoints.routes import router as supportpoints_router
from brigades.volunteers.mijn import router as volunteer_own_pages_router
from brigades.volunteers.pages import router as volunteer_pages_router
from brigades.volunteers.routes import router as volunteers_router

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


class Stoppable(Protocol):
    def stop(self) -> None: ...


def include_routers(app: FastAPI, settings: Settings) -> None:
    """Mount every router of the application."""
    app.include_router(health_router)
    # Always mounted; its own dependency answers 404 where the tools are not allowed.
    app.include_router(dev_pages_router)
    app.include_router(volunteers_router)
    app.include_router(skills_router)
    app.include_router(supportpoints_router)
    app.include_router(volunteer_pages_router)
    app.include_router(volunteer_own_pages_router)
    app.include_router(privacy_pages_router)


def start_background_worker(settings: Settings, engine: Engine) -> Stoppable | None:
    """Start the in-process outbox worker when the settings ask for one."""
    if not settings.worker_in_process:
        return None
    return runtime.start_background_worker(settings, engine)
