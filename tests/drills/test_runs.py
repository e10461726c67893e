"""Running a simulation: the command line writes the report files; a planned drill gets its run."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from brigades import clock
from brigades.cli import app
from brigades.db import make_engine
from brigades.drills import report as drill_report
from brigades.drills import service
from brigades.drills.models import Drill, DrillRun, DrillState, DrillType
from brigades.tasks.models import CareTask
from tests.conftest import make_settings

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
