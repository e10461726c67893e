"""The dashboard's downloads: tasks as CSV and GeoJSON, aggregates and the sitrap as CSV.

CSV files are semicolon-separated UTF-8 with a BOM (as the other exports), cells that look like
formulas kept as text. No export holds a client's address or a volunteer's personal data: tasks
are located by PC4 and their (PC4) point.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from brigades import clock
from brigades.dashboard.service import Coverage, KeyFigures, percent_nl
from brigades.tasks.models import PRIORITY_LABELS_NL, TASK_STATE_LABELS_NL, CareTask

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TASK_COLUMNS = (
    "id",
    "type",
    "status",
    "status_nl",
    "prioriteit",
    "gemeente_code",
    "pc4",
    "venster_begin",
    "venster_eind",
    "duur_minuten",
    "plaatsen",
    "bezet",
    "reden_niet_te_bezetten",
    "externe_referentie",
)


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Semicolon-separated UTF-8 with BOM (opens cleanly in Dutch spreadsheet programs)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue().encode("utf-8-sig")


def _task_row(task: CareTask, filled: int) -> list[object]:
    return [
        task.id,
        task.type_code,
        task.state.value,
        TASK_STATE_LABELS_NL[task.state],
        PRIORITY_LABELS_NL[task.priority],
        task.gm_code,
        task.pc4,
        clock.format_local(task.window_start),
        clock.format_local(task.window_end),
        task.duration_minutes,
        task.slots,
        filled,
        task.unfillable_reason or "",
        task.external_reference or "",
    ]


def tasks_csv(tasks: Iterable[tuple[CareTask, int]]) -> bytes:
    """One row per task (no address: PC4 only)."""
    return to_csv(TASK_COLUMNS, (_task_row(task, filled) for task, filled in tasks))


def tasks_geojson(tasks: Iterable[tuple[CareTask, int]]) -> dict[str, Any]:
    """One point feature per task at its (PC4) location, with the CSV's columns as properties."""
    features = []
    for task, filled in tasks:
        properties = dict(zip(TASK_COLUMNS, _task_row(task, filled), strict=True))
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [task.lon, task.lat]},
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


def aggregates_csv(rows: Sequence[Coverage], figures: KeyFigures) -> bytes:
    """One row per buurtsteunpunt (coverage), then the incident's totals."""
    body: list[list[object]] = [
        [
            r.name,
            r.volunteers,
            r.available_now,
            r.tasks,
            r.unfilled,
            r.filled,
            r.unfillable,
            percent_nl(r.fill_rate),
        ]
        for r in rows
    ]
    body.append(
        [
            "Totaal incident",
            sum(r.volunteers for r in rows),
            figures.available_now if figures.available_now is not None else "",
            figures.total,
            figures.open + figures.unfillable,
            figures.filled,
            figures.unfillable,
            percent_nl(
                figures.filled / (figures.open + figures.unfillable + figures.filled)
                if figures.open + figures.unfillable + figures.filled
                else None
            ),
        ]
    )
    header = (
        "buurtsteunpunt",
        "vrijwilligers",
        "nu_beschikbaar",
        "taken",
        "onbezet",
        "bezet",
        "niet_te_bezetten",
        "vullingsgraad",
    )
    return to_csv(header, body)


def sitrap_csv(sitrap: dict[str, Any]) -> bytes:
    """The situation report as (onderdeel, sleutel, waarde) rows."""
    rows: list[list[object]] = []
    for key, value in sitrap["header"]:
        rows.append(["incident", key, value])
    for key, value in sitrap["key_figures"]:
        rows.append(["kerncijfers", key, value])
    for label, n in sitrap["states"]:
        rows.append(["taken_per_status", label, n])
    for reason, n in sitrap["reasons"]:
        rows.append(["reden_niet_te_bezetten", reason or "(geen reden)", n])
    for row in sitrap["coverage"]:
        rows.append(
            [
                "dekking",
                row.name,
                f"{row.volunteers} vrijwilligers, {row.available_now} nu beschikbaar, "
                f"{row.filled} van {row.filled + row.unfilled} taken bezet",
            ]
        )
    for entry in sitrap["timeline"]:
        rows.append(["tijdlijn", clock.format_local(entry.at, "%d-%m-%Y %H:%M:%S"), entry.text])
    return to_csv(("onderdeel", "sleutel", "waarde"), rows)
