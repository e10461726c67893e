"""The after-action report as people see it: page context, standalone HTML, a comparison."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from brigades.drills import charts
from brigades.drills.report import CoverageRow, Report, summary_rows
from brigades.web.templating import templates

# Shared with the page (static/drillrapport.css): the standalone file inlines it.
REPORT_CSS = Path(__file__).resolve().parent.parent / "web" / "static" / "drillrapport.css"

WORST_AREAS = 12


def fill_points(report: Report) -> list[tuple[float, float]]:
    """(minutes, fill rate) of the report's series."""
    return [(m, f / s if s else 0.0) for m, s, f in report.fill_series]


def answer_points(report: Report) -> list[tuple[float, float]]:
    """(minutes, share of the roll-call's questions answered) of the report's series."""
    return [(m, b / a if a else 0.0) for m, a, b in report.roll_call_series]


def context(report: Report) -> dict[str, Any]:
    """What the report templates need."""
    worst = [(r.name, r.fill_rate) for r in report.gemeenten[:WORST_AREAS]]
    return {
        "answer_chart": charts.lines(
            "Oproep: aandeel beantwoord in de tijd",
            [("beantwoord", answer_points(report))],
            y_label="beantwoord",
            y_percent=True,
        )
        if report.roll_call_series
        else None,
        "report": report,
        "summary": summary_rows(report),
        "started": datetime.fromisoformat(report.started_at),
        "ended": datetime.fromisoformat(report.ended_at),
        "fill_chart": charts.lines(
            "Vulgraad in de tijd",
            [
                ("vulgraad", fill_points(report)),
            ],
            y_label="vulgraad",
            y_percent=True,
        ),
        "gemeente_chart": charts.bars("Laagste vulgraad per gemeente", worst),
    }


def standalone_html(report: Report) -> str:
    """The report as one self-contained HTML file (charts inline, prints as a PDF)."""
    page = templates.env.get_template("drills/standalone.html")
    return page.render(context(report), report_css=REPORT_CSS.read_text())


@dataclass(frozen=True, slots=True)
class AreaComparison:
    """One area's fill rate in two reports (None: the area had no tasks in that drill)."""

    code: str
    name: str
    first: CoverageRow | None
    second: CoverageRow | None

    @property
    def change(self) -> float | None:
        """The change in fill rate (percentage points / 100), where both drills had tasks."""
        if self.first is None or self.second is None:
            return None
        return self.second.fill_rate - self.first.fill_rate


def compare_areas(first: list[CoverageRow], second: list[CoverageRow]) -> list[AreaComparison]:
    """Every area of either report, the weakest of the later drill first (then by name)."""
    left = {r.code: r for r in first}
    right = {r.code: r for r in second}
    rows = [
        AreaComparison(code, (right.get(code) or left[code]).name, left.get(code), right.get(code))
        for code in {*left, *right}
    ]
    return sorted(
        rows,
        key=lambda r: (r.second.fill_rate if r.second else 2.0, r.name.casefold(), r.code),
    )


def comparison(first: Report, second: Report) -> dict[str, Any]:
    """Two reports side by side: the headline figures, the fill rate over time overlaid, and the
    coverage per gemeente and per buurtsteunpunt (where did the region improve or fall back?)."""
    left, right = dict(summary_rows(first)), dict(summary_rows(second))
    labels = list(left) + [label for label in right if label not in left]
    rows = [(label, left.get(label, "—"), right.get(label, "—")) for label in labels]
    return {
        "first": first,
        "second": second,
        "rows": rows,
        "gemeenten": compare_areas(first.gemeenten, second.gemeenten),
        "support_points": compare_areas(first.support_points, second.support_points),
        "fill_chart": charts.lines(
            "Vulgraad in de tijd, beide oefeningen",
            [(first.title, fill_points(first)), (second.title, fill_points(second))],
            y_label="vulgraad",
            y_percent=True,
        ),
    }
