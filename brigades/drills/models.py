"""Drills and their runs.

A *roll-call* or *live* drill wraps a drill incident in the real database (its offers, answers
and roll-calls are real rows, every message says OEFENING). A *simulated surge* sends no real
message at all: it runs in a scratch database of its own (synthetic volunteers, the real
dispatcher and outbox worker under a manual clock), and only its after-action report comes back
here, as a :class:`DrillRun`. That keeps drill data out of every real statistic by construction.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

from notifications.sqltypes import AwareDateTime, str_enum

DRILL_OBJECT = "drill"


class DrillType(enum.StrEnum):
    ROLL_CALL = "roll_call"  # a real availability poll to real volunteers of an area
    LIVE = "live"  # synthetic tasks offered to real volunteers ("zou je gaan?")
    SIMULATED = "simulated"  # a synthetic population and a response model replay a scenario


class DrillState(enum.StrEnum):
    PLANNED = "planned"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


TYPE_LABELS_NL = {
    DrillType.ROLL_CALL: "Oproepoefening",
    DrillType.LIVE: "Live oefening",
    DrillType.SIMULATED: "Gesimuleerde piek",
}
STATE_LABELS_NL = {
    DrillState.PLANNED: "Gepland",
    DrillState.RUNNING: "Loopt",
    DrillState.DONE: "Klaar",
    DrillState.FAILED: "Mislukt",
}


class Drill(SQLModel, table=True):
    """One drill of a region, led by a drill lead (or a regional coordinator)."""

    __tablename__ = "drill"

    id: int | None = Field(default=None, primary_key=True)
    vr_code: str = Field(max_length=4, index=True)
    type: DrillType = Field(sa_type=str_enum(DrillType))
    # The drill incident in this database (roll-call and live drills; None for a simulation).
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    scenario: str | None = Field(default=None, max_length=80)
    # A scenario the drill lead uploaded (validated JSON); None for a shipped one (``scenario``).
    scenario_json: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    name: str = Field(max_length=120)
    # The drill lead's choice: the drill's offers count against real volunteers' caps (and
    # theirs against the drill's). Off by default: a drill never tires a real incident's people.
    caps_shared: bool = Field(default=False)
    state: DrillState = Field(default=DrillState.PLANNED, sa_type=str_enum(DrillState))
    # 0..1 while running (the page's progress bar).
    progress: float = Field(default=0.0)
    progress_note: str | None = Field(default=None, max_length=200)
    # When a running simulation last reported progress (a run silent for long is marked failed).
    progress_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    lead_user_id: int | None = Field(default=None, foreign_key="app_user.id")
    created_at: datetime = Field(sa_type=AwareDateTime)
    started_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=AwareDateTime)


class DrillRun(SQLModel, table=True):
    """The after-action report of one drill run (a simulation, or a live/roll-call drill)."""

    __tablename__ = "drill_run"

    id: int | None = Field(default=None, primary_key=True)
    drill_id: int = Field(foreign_key="drill.id", index=True)
    created_at: datetime = Field(sa_type=AwareDateTime)
    # Wall-clock seconds the simulation took (None for a live drill's report).
    wall_seconds: float | None = Field(default=None)
    # The report (brigades.drills.report.Report as JSON): figures, series, coverage tables.
    report_json: str = Field(sa_column=Column(Text, nullable=False))
