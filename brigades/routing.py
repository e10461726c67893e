"""Which routers and background services an app has, depending on its settings."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from fastapi import FastAPI
from sqlalchemy import Engine

from brigades import runtime
from brigades.accounts import web as accounts_web
from brigades.accounts.admin_pages import router as accounts_admin_pages_router
from brigades.accounts.admin_routes import router as accounts_admin_router
from brigades.accounts.pages import router as accounts_pages_router
from brigades.accounts.routes import router as auth_router
from brigades.audit.pages import router as audit_pages_router
from brigades.audit.routes import router as audit_router
from brigades.dashboard.pages import router as dashboard_pages_router
from brigades.dashboard.routes import router as dashboard_router
from brigades.dev.pages import router as dev_pages_router
from brigades.dispatch import acceptance as dispatch_acceptance
from brigades.dispatch import rollcall as dispatch_rollcall
from brigades.dispatch.pages import router as dispatch_pages_router
from brigades.dispatch.routes import router as dispatch_router
from brigades.dispatch.volunteer_pages import router as dispatch_volunteer_pages_router
from brigades.drills.pages import router as drill_pages_router
from brigades.health.routes import router as health_router
from brigades.incidents.pages import router as incident_pages_router
from brigades.incidents.routes import router as incidents_router
from brigades.metrics.routes import router as metrics_router
from brigades.organisations.pages import router as organisation_pages_router
from brigades.organisations.routes import router as organisation_router
from brigades.privacy.pages import router as privacy_pages_router
from brigades.privacy.routes import router as privacy_router
from brigades.readiness.mijn_pages import router as readiness_own_pages_router
from brigades.readiness.pages import router as readiness_pages_router
from brigades.readiness.routes import router as readiness_router
from brigades.settings import Settings
from brigades.skills.routes import router as skills_router
from brigades.supportpoints.routes import router as supportpoints_router
from brigades.tasks.pages import router as task_pages_router
from brigades.tasks.routes import router as tasks_router
from brigades.vetting.assisted_pages import router as vetting_assisted_pages_router
from brigades.vetting.pages import router as vetting_pages_router
from brigades.vetting.routes import router as vetting_router
from brigades.volunteers.mijn import router as volunteer_own_pages_router
from brigades.volunteers.pages import router as volunteer_pages_router
from brigades.volunteers.routes import router as volunteers_router
from brigades.webhooks.routes import router as twilio_webhooks_router

STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


class Stoppable(Protocol):
    def stop(self) -> None: ...


def include_routers(app: FastAPI, settings: Settings) -> None:
    """Mount every router of the application."""
    # The dispatcher answers offers and assignments wherever SMS replies are handled.
    dispatch_acceptance.register()
    dispatch_rollcall.register()
    app.include_router(health_router)
    # Its own dependency decides who may scrape (token, or loopback outside production).
    app.include_router(metrics_router)
    # Always mounted; its own dependency answers 404 where the tools are not allowed.
    app.include_router(dev_pages_router)
    app.include_router(volunteers_router)
    app.include_router(skills_router)
    app.include_router(supportpoints_router)
    app.include_router(volunteer_pages_router)
    app.include_router(volunteer_own_pages_router)
    app.include_router(dispatch_volunteer_pages_router)
    app.include_router(privacy_pages_router)
    # Always mounted; answers 404 unless a Twilio auth token is configured.
    app.include_router(twilio_webhooks_router)
    app.include_router(auth_router)
    app.include_router(accounts_admin_router)
    app.include_router(accounts_pages_router)
    app.include_router(accounts_admin_pages_router)
    app.include_router(audit_router)
    app.include_router(audit_pages_router)
    app.include_router(vetting_router)
    app.include_router(vetting_pages_router)
    app.include_router(vetting_assisted_pages_router)
    app.include_router(privacy_router)
    app.include_router(incidents_router)
    app.include_router(drill_pages_router)
    app.include_router(tasks_router)
    app.include_router(incident_pages_router)
    app.include_router(task_pages_router)
    app.include_router(dispatch_router)
    app.include_router(dispatch_pages_router)
    app.include_router(dashboard_router)
    app.include_router(dashboard_pages_router)
    app.include_router(organisation_router)
    app.include_router(organisation_pages_router)
    app.include_router(readiness_router)
    app.include_router(readiness_pages_router)
    app.include_router(readiness_own_pages_router)
    accounts_web.install(app)  # pages without a login go to /beheer/inloggen


def start_background_worker(settings: Settings, engine: Engine) -> Stoppable | None:
    """Start the in-process outbox worker when the settings ask for one."""
    if not settings.worker_in_process:
        return None
    return runtime.start_background_worker(settings, engine)
