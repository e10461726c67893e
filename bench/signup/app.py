"""The real app plus one baseline route, for the sign-up benchmark only.

``POST /bench/minimal-insert`` inserts one row with a phone number through the same engine and
session dependency: the floor under the real sign-up path (HTTP + JSON + one transaction).
"""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from brigades.app import create_app
from brigades.deps import SessionDep

BASELINE_TABLE = "bench_minimal_insert"


class MinimalIn(BaseModel):
    phone: str


def create_bench_app() -> FastAPI:
    """The production app with the baseline route added."""
    app = create_app(freeze_gc=True)  # as `zorgbrigade serve` runs it

    @app.post("/bench/minimal-insert", status_code=201, include_in_schema=False)
    def minimal_insert(body: MinimalIn, session: SessionDep) -> dict[str, str]:
        session.execute(
            text(f"INSERT INTO {BASELINE_TABLE} (phone) VALUES (:phone)"), {"phone": body.phone}
        )
        return {"status": "ok"}

    return app
