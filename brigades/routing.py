"""Which routers and background services an app has, depending on its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from sqlalchemy import Engine

from brigades.health.routes import router as health_router
from brigades.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


class Stoppable(Protocol):
    def stop(self) -> None: ...


def include_routers(app: FastAPI, settings: Settings) -> None:
    """Mount every router of the application."""
    app.include_router(health_router)


def start_background_worker(settings: Settings, engine: Engine) -> Stoppable | None:
    """Start the in-process outbox worker when the settings ask for one."""
    return None
