"""Running a simulation: the command line writes the report files; a planned drill gets its run."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from brigades import clock
from brigades.cli import app
from brigades.clock import ManualClock
from brigades.db import make_engine
from brigades.drills import lifecycle, scratch, service
from brigades.drills import report as drill_report
from brigades.drills import scenario as scenarios
from brigades.drills.models import Drill, DrillRun, DrillState, DrillType
from brigades.tasks.models import CareTask
from brigades.volunteers.models import Volunteer
from tests.conftest import TEST_SECRET, make_settings

TINY = {
    "name": "Mini",
    "region": "VR09",
    "hours": 0.5,
    "tasks": 4,
    "mix": {"boodschappen": 1.0},
    "lead_minutes": [15, 30],
    "window_minutes": 90,
    "population": {"volunteers": 80, "always_available_share": 1.0, "vetting": [0, 1, 0, 0]},
    "response": {"answer": 1.0, "accept": 0.5, "delay_median_minutes": 3},
    "seed": 2,
}


def test_drill_run_writes_the_report(tmp_path: Path) -> None:
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    out = tmp_path / "rapport"
    result = CliRunner().invoke(app, ["drill", "run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Vulgraad" in result.output and "Evaluatie geschreven" in result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and "<svg" in html and "Evaluatie: Mini" in html
    built = drill_report.Report.from_json((out / "report.json").read_text(encoding="utf-8"))
    assert built.tasks == 4 and built.volunteers == 80 and built.offers > 0
    assert (out / "vulgraad.csv").read_text(encoding="utf-8").startswith("minuten;plekken")


def test_drill_run_explains_a_broken_scenario(tmp_path: Path) -> None:
    path = tmp_path / "kapot.json"
    path.write_text(json.dumps({**TINY, "tasks": -1, "region": "VR77"}), encoding="utf-8")
    result = CliRunner().invoke(app, ["drill", "run", str(path)])
    assert result.exit_code == 2
    assert "tasks: moet tussen 1 en 100000 liggen" in result.output
    assert "onbekende veiligheidsregio 'VR77'" in result.output


def test_a_planned_simulation_runs_and_stores_its_report(fresh_database: str) -> None:
    engine = make_engine(fresh_database)
    settings = make_settings(fresh_database)
    with Session(engine) as session:
        drill = Drill(
            vr_code="VR09",
            type=DrillType.SIMULATED,
            scenario="klein",
            name="Klein",
            created_at=clock.now(),
        )
        session.add(drill)
        session.commit()
        drill_id = drill.id or 0
        assert service.planned_ids(session) == [drill_id]
    seen: list[float] = []
    run_id = service.run_simulation(
        engine, settings, drill_id=drill_id, progress=lambda share, _note: seen.append(share)
    )
    with Session(engine) as session:
        stored = session.get(Drill, drill_id)
        run = session.exec(select(DrillRun).where(col(DrillRun.drill_id) == drill_id)).one()
        assert service.planned_ids(session) == []
    assert stored is not None and stored.state is DrillState.DONE and stored.progress == 1.0
    assert run.id == run_id and run.wall_seconds and run.wall_seconds > 0
    built = drill_report.Report.from_json(run.report_json)
    assert built.tasks == 40 and built.volunteers == 600 and built.slots_filled > 0
    assert seen[-1] == 1.0 and seen == sorted(seen)
    # Nothing of the simulation is left in this database: it ran in a scratch one.
    with Session(engine) as session:
        assert session.exec(select(CareTask)).first() is None
    engine.dispose()


def test_a_scenario_that_does_not_load_marks_the_run_failed(fresh_database: str) -> None:
    engine = make_engine(fresh_database)
    settings = make_settings(fresh_database)
    with Session(engine) as session:
        drill = Drill(
            vr_code="VR09",
            type=DrillType.SIMULATED,
            scenario="bestaat-niet",
            name="Kwijt",
            created_at=clock.now(),
        )
        session.add(drill)
        session.commit()
        drill_id = drill.id or 0
    with pytest.raises(scenarios.ScenarioInvalid):
        service.run_simulation(engine, settings, drill_id=drill_id)
    with Session(engine) as session:
        stored = session.get(Drill, drill_id)
    assert stored is not None and stored.state is DrillState.FAILED
    assert stored.progress_note is not None and stored.progress_note.startswith("Mislukt: ")
    assert "niet gevonden" in stored.progress_note and stored.finished_at is not None
    engine.dispose()


def test_a_run_that_reports_nothing_for_long_is_marked_failed(
    session: Session, clock: ManualClock
) -> None:
    drill = Drill(
        vr_code="VR09",
        type=DrillType.SIMULATED,
        scenario="klein",
        name="Stil",
        state=DrillState.RUNNING,
        progress=0.4,
        progress_at=clock.now(),
        created_at=clock.now(),
    )
    session.add(drill)
    session.flush()
    clock.advance(lifecycle.STALE_AFTER - timedelta(minutes=1))
    assert lifecycle.fail_stale(session, now=clock.now()) == 0
    clock.advance(timedelta(minutes=2))
    assert lifecycle.fail_stale(session, now=clock.now()) == 1
    session.refresh(drill)
    assert drill.state is DrillState.FAILED
    assert drill.progress_note is not None and "geen voortgang" in drill.progress_note
    assert lifecycle.fail_stale(session, now=clock.now()) == 0


def _child_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """The worker's environment, which the child process it starts reads its settings from."""
    for key in list(os.environ):
        if key.startswith("ZB_") and key not in ("ZB_TEST_DB", "ZB_TEST_PG_SERVER"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZB_ENV", "test")
    monkeypatch.setenv("ZB_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ZB_WORKER_IN_PROCESS", "false")


def test_the_worker_starts_a_planned_run_in_its_own_process(
    fresh_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _child_env(monkeypatch, fresh_database)
    engine = make_engine(fresh_database)
    settings = make_settings(fresh_database)
    with Session(engine) as session:
        drill = Drill(
            vr_code="VR09",
            type=DrillType.SIMULATED,
            scenario="mini",
            scenario_json=json.dumps(TINY),  # an uploaded scenario: the child reads it here
            name="Mini",
            created_at=clock.now(),
        )
        session.add(drill)
        session.commit()
        drill_id = drill.id or 0
    assert service.start_planned(engine, settings) == 1
    with Session(engine) as session:
        started = session.get(Drill, drill_id)
        assert started is not None and started.state is DrillState.RUNNING
        assert started.progress_at is not None
        assert service.planned_ids(session) == []
    assert service.start_planned(engine, settings) == 0  # nothing started twice
    deadline = time.monotonic() + 180
    state = DrillState.RUNNING
    while state is DrillState.RUNNING and time.monotonic() < deadline:
        time.sleep(0.5)
        with Session(engine) as session:
            row = session.get(Drill, drill_id)
            assert row is not None
            state = row.state
    with Session(engine) as session:
        row = session.get(Drill, drill_id)
        run = session.exec(select(DrillRun).where(col(DrillRun.drill_id) == drill_id)).one()
    assert row is not None and row.state is DrillState.DONE, row.progress_note
    built = drill_report.Report.from_json(run.report_json)
    assert built.tasks == 4 and built.volunteers == 80 and built.scenario == "mini"
    engine.dispose()


def test_drill_run_refuses_a_database_with_real_volunteers(
    fresh_database: str, tmp_path: Path
) -> None:
    from tests.dispatch.factories import ready_volunteer

    engine = make_engine(fresh_database)
    with Session(engine) as session:
        ready_volunteer(session)
        session.commit()
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    result = CliRunner().invoke(app, ["drill", "run", str(path), "--database", fresh_database])
    assert result.exit_code == 2, result.output
    assert "geen lege oefendatabase" in result.output and "1 echte" in result.output
    assert "Not an empty scratch database" in result.output
    with Session(engine) as session:
        assert len(session.exec(select(Volunteer)).all()) == 1
        assert session.exec(select(CareTask)).first() is None
    engine.dispose()


def test_a_scratch_database_holds_no_application_data(
    databases,
    fresh_database: str,  # type: ignore[no-untyped-def]
) -> None:
    # Empty (no tables) or freshly migrated: fine. Any data, also synthetic, or a foreign
    # schema: refused.
    for url in (databases.empty(), fresh_database):
        engine = make_engine(url)
        assert scratch.refusal(engine) is None
        engine.dispose()
    engine = make_engine(fresh_database)
    with Session(engine) as session:
        session.add(
            Drill(vr_code="VR09", type=DrillType.SIMULATED, name="Oud", created_at=clock.now())
        )
        session.commit()
    assert scratch.refusal(engine) == "de tabel drill bevat al gegevens"
    engine.dispose()
    foreign = make_engine(databases.empty())
    with foreign.begin() as conn:
        conn.execute(text("CREATE TABLE klanten (id INTEGER PRIMARY KEY)"))
    assert scratch.refusal(foreign) is not None
    with pytest.raises(scratch.NotAScratchDatabase):
        scratch.open_scratch(str(foreign.url))
    foreign.dispose()


def test_drill_run_migrates_an_empty_database_and_runs_there(
    databases,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    url = databases.empty()
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(TINY), encoding="utf-8")
    out = tmp_path / "rapport"
    result = CliRunner().invoke(
        app, ["drill", "run", str(path), "--database", url, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    engine = make_engine(url)
    with Session(engine) as session:
        volunteers = session.exec(select(Volunteer)).all()
    assert len(volunteers) == 80 and all(v.synthetic for v in volunteers)
    engine.dispose()
