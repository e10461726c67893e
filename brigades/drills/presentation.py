"""The after-action report as people see it: page context, standalone HTML, a comparison."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from brigades.drills import charts
from brigades.drills.report import Report, summary_rows
from brigades.web.templating import templates

WORST_AREAS = 12


def fill_points(report: Report) -> list[tuple[float, float]]:
    """(minutes, fill rate) of the report's series."""
    return [(m, f / s if s else 0.0) for m, s, f in report.fill_series]


def context(report: Report) -> dict[str, Any]:
    """What the report templates need."""
    worst = [(r.name, r.fill_rate) for r in report.gemeenten[:WORST_AREAS]]
    return {
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
    return templates.env.get_template("drills/standalone.html").render(context(report))


def comparison(first: Report, second: Report) -> dict[str, Any]:
    """Two reports side by side: the headline figures and the fill rate over time overlaid."""
    left, right = dict(summary_rows(first)), dict(summary_rows(second))
    labels = list(left) + [label for label in right if label not in left]
    rows = [(label, left.get(label, "—"), right.get(label, "—")) for label in labels]
    return {
        "first": first,
        "second": second,
        "rows": rows,
        "fill_chart": charts.lines(
            "Vulgraad in de tijd, beide oefeningen",
            [(first.title, fill_points(first)), (second.title, fill_points(second))],
            y_label="vulgraad",
            y_percent=True,
        ),
    }
